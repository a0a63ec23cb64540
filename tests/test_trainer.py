"""LTHTrainer on a tiny BERT and synthetic token data: rounds, masks, rewinding, controls, resume."""

import json

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification, TrainerCallback

from hf_lth.arguments import LTHArguments
from hf_lth.errors import LTHInputError
from hf_lth.masks import TicketMask
from hf_lth.metrics import compute_metrics
from hf_lth.trainer import LTHTrainer


def tiny_bert(seed=0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    return BertForSequenceClassification(config)


@pytest.fixture(scope="module")
def dataset():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 64, (96, 10), generator=g)
    labels = (ids[:, 1] >= 34).long()
    return Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": [[1] * 10] * 96, "labels": labels.tolist()})


def make_trainer(tmp_path, dataset, name="run", callbacks=None, **overrides):
    settings = dict(output_dir=str(tmp_path / name), lth_rounds=2, num_train_epochs=2, per_device_train_batch_size=16,
                    gradient_accumulation_steps=2, weight_decay=0.1, disable_tqdm=True, logging_steps=1, seed=7)
    settings.update(overrides)
    return LTHTrainer(model=tiny_bert(), args=LTHArguments(**settings), train_dataset=dataset, eval_dataset=dataset,
                      test_dataset=dataset, compute_metrics=compute_metrics, callbacks=callbacks)


class RoundStartRecorder(TrainerCallback):
    """Keeps a copy of the weights and the first learning rate of every train() call."""

    def __init__(self):
        self.starts, self.first_lr = [], []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.starts.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if state.global_step == 0:
            self.first_lr.append(optimizer.param_groups[0]["lr"])


def test_rounds_write_tickets_with_exact_zeros_and_results(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset)
    results = trainer.find_tickets()
    out = tmp_path / "run"
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    total = results["rounds"][0]["num_prunable"]
    kept = [total, total - round(0.2 * total)]
    kept.append(kept[1] - round(0.2 * kept[1]))
    assert [r["num_kept"] for r in results["rounds"]] == kept
    assert [r["sparsity"] for r in results["rounds"]] == pytest.approx([1 - k / total for k in kept])
    for key in ("eval_accuracy", "eval_f1", "test_accuracy", "test_f1", "train_steps", "wall_time_s", "layer_sparsity"):
        assert key in results["rounds"][2]
    assert results["best_round"] in (1, 2)
    on_disk = json.loads((out / "lth_results.json").read_text())
    assert on_disk["rounds"] == results["rounds"]
    previous = None
    for index in range(3):
        folder = out / f"round_{index:02d}"
        mask = TicketMask.load(folder / "lth_mask.safetensors")
        weights = load_file(str(folder / "model.safetensors"))
        for name in mask:  # pruned weights exactly zero after AdamW + weight decay + accumulation
            assert torch.count_nonzero(weights[name][~mask[name]]) == 0, name
        if previous is not None:
            assert mask.is_nested_in(previous)
        previous = mask
        model, info = AutoModelForSequenceClassification.from_pretrained(folder, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"]
        assert model.config.lth["round"] == index
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_rewinding_to_init_restores_rewind_weights_under_mask_and_survivors_train(tmp_path, dataset):
    recorder = RoundStartRecorder()
    make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1).find_tickets()
    out = tmp_path / "run"
    rewind = load_file(str(out / "rewind_point.safetensors"))
    mask = TicketMask.load(out / "round_01" / "lth_mask.safetensors")
    start = recorder.starts[1]
    for name, value in rewind.items():
        expected = value * mask[name] if name in mask else value
        assert torch.equal(start[name], expected), name
    final = load_file(str(out / "round_01" / "model.safetensors"))
    name = "bert.encoder.layer.0.intermediate.dense.weight"
    negative_survivors = mask[name] & (start[name] < 0)
    assert negative_survivors.any()
    moved = (final[name][negative_survivors] != start[name][negative_survivors]).float().mean()
    assert moved > 0.9, "surviving negative weights must keep training"


def test_learning_rate_rewinding_keeps_weights_and_restarts_schedule(tmp_path, dataset):
    recorder = RoundStartRecorder()
    make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1, lth_rewind="lr").find_tickets()
    out = tmp_path / "run"
    trained = load_file(str(out / "round_00" / "model.safetensors"))
    mask = TicketMask.load(out / "round_01" / "lth_mask.safetensors")
    for name in mask:
        assert torch.equal(recorder.starts[1][name], trained[name] * mask[name])
    assert recorder.first_lr[0] == recorder.first_lr[1] == pytest.approx(1e-3)
    assert not (out / "rewind_point.safetensors").exists()


def test_late_rewinding_and_finetune(tmp_path, dataset):
    recorder = RoundStartRecorder()
    make_trainer(tmp_path, dataset, name="late", callbacks=[recorder], lth_rounds=1, lth_rewind="step:1").find_tickets()
    rewind = load_file(str(tmp_path / "late" / "rewind_point.safetensors"))
    assert not torch.equal(rewind["classifier.weight"], recorder.starts[0]["classifier.weight"])
    with pytest.raises(LTHInputError, match="step:99 is beyond round 0"):
        make_trainer(tmp_path, dataset, name="far", lth_rounds=1, lth_rewind="step:99").find_tickets()
    recorder = RoundStartRecorder()
    results = make_trainer(tmp_path, dataset, name="ft", callbacks=[recorder], lth_rounds=1, lth_rewind="finetune").find_tickets()
    final_lr = results["rounds"][0]["final_learning_rate"]
    assert 0 < final_lr < 1e-3 and recorder.first_lr[1] == pytest.approx(final_lr)


def test_controls_keep_counts_or_mask_and_change_the_other(tmp_path, dataset):
    recorder = RoundStartRecorder()
    trainer = make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1)
    trainer.find_tickets()
    results = trainer.run_controls(["random_pruning", "random_reinit"])
    out = tmp_path / "run"
    ticket = TicketMask.load(out / "round_01" / "lth_mask.safetensors")
    random_pruned = TicketMask.load(out / "controls" / "random_pruning" / "round_01" / "lth_mask.safetensors")
    reinit = TicketMask.load(out / "controls" / "random_reinit" / "round_01" / "lth_mask.safetensors")
    assert random_pruned.layer_kept() == ticket.layer_kept() and random_pruned.digest() != ticket.digest()
    assert reinit.digest() == ticket.digest()
    ticket_start, reinit_start = recorder.starts[1], recorder.starts[3]
    name = "bert.encoder.layer.1.output.dense.weight"
    assert not torch.equal(ticket_start[name], reinit_start[name])
    assert torch.equal(reinit_start[name] == 0, ticket_start[name] == 0)
    assert {k: len(v) for k, v in results["controls"].items()} == {"random_pruning": 1, "random_reinit": 1}


class ResultsWatcher(TrainerCallback):
    """Reads lth_results.json at the start of every train() call, as someone watching a long run would."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def on_train_begin(self, args, state, control, **kwargs):
        rounds = json.loads(self.path.read_text())["rounds"] if self.path.is_file() else []
        self.seen.append([r["round"] for r in rounds])


def test_results_file_is_current_after_every_round(tmp_path, dataset):
    watcher = ResultsWatcher(tmp_path / "run" / "lth_results.json")
    make_trainer(tmp_path, dataset, callbacks=[watcher], lth_rounds=2, num_train_epochs=1).find_tickets()
    assert watcher.seen == [[], [0], [0, 1]]


def test_controls_only_at_the_chosen_rounds(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_rounds=2, lth_controls="random_pruning", lth_control_rounds="2",
                           num_train_epochs=1)
    results = trainer.find_tickets()
    assert [r["round"] for r in results["controls"]["random_pruning"]] == [2]
    assert sorted(p.name for p in (tmp_path / "run" / "controls" / "random_pruning").iterdir()) == ["round_02"]
    with pytest.raises(LTHInputError, match=r"no finished pruned round among rounds \[7\]"):
        trainer.run_controls(["random_reinit"], rounds=[7])


def test_resume_skips_finished_rounds_and_matches_an_uninterrupted_run(tmp_path, dataset):
    make_trainer(tmp_path, dataset, name="straight").find_tickets()
    make_trainer(tmp_path, dataset, name="resumed", lth_rounds=1).find_tickets()
    stamp = (tmp_path / "resumed" / "round_01" / "model.safetensors").stat().st_mtime_ns
    recorder = RoundStartRecorder()
    make_trainer(tmp_path, dataset, name="resumed", callbacks=[recorder]).find_tickets()
    assert len(recorder.starts) == 1, "only round 2 may train again"
    assert (tmp_path / "resumed" / "round_01" / "model.safetensors").stat().st_mtime_ns == stamp
    for index in range(3):
        a = TicketMask.load(tmp_path / "straight" / f"round_{index:02d}" / "lth_mask.safetensors")
        b = TicketMask.load(tmp_path / "resumed" / f"round_{index:02d}" / "lth_mask.safetensors")
        assert a.digest() == b.digest()
    straight = json.loads((tmp_path / "straight" / "lth_results.json").read_text())["rounds"][2]
    resumed = json.loads((tmp_path / "resumed" / "lth_results.json").read_text())["rounds"][2]
    assert straight["eval_loss"] == pytest.approx(resumed["eval_loss"], abs=1e-6)


def test_folder_of_another_experiment_is_refused(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=0).find_tickets()
    with pytest.raises(LTHInputError, match="lth_prune_rate: 0.2 -> 0.5"):
        make_trainer(tmp_path, dataset, lth_rounds=0, lth_prune_rate=0.5).find_tickets()
    results = make_trainer(tmp_path, dataset, lth_rounds=0, lth_prune_rate=0.5, overwrite_output_dir=True).find_tickets()
    assert results["experiment"]["lth_prune_rate"] == 0.5


def test_sparsity_and_round_reach_trainer_logs(tmp_path, dataset):
    results = make_trainer(tmp_path, dataset, lth_rounds=1).find_tickets()
    history = json.loads((tmp_path / "run" / "round_01" / "lth_log_history.json").read_text())
    losses = [h for h in history if "loss" in h]
    assert losses and all(h["lth_round"] == 1 and h["sparsity"] == results["rounds"][1]["sparsity"] for h in losses)


def test_pruned_weights_stay_zero_under_bf16_mixed_precision(tmp_path, dataset):
    results = make_trainer(tmp_path, dataset, lth_rounds=1, bf16=True, use_cpu=True).find_tickets()
    assert results["rounds"][1]["sparsity"] > 0.19
    mask = TicketMask.load(tmp_path / "run" / "round_01" / "lth_mask.safetensors")
    weights = load_file(str(tmp_path / "run" / "round_01" / "model.safetensors"))
    assert all(torch.count_nonzero(weights[n][~m]) == 0 for n, m in mask.items())


def test_compact_tickets_resume_and_load(tmp_path, dataset):
    from hf_lth.compact import load_compact_model

    make_trainer(tmp_path, dataset, name="compact", lth_rounds=1, lth_compact_tickets=True).find_tickets()
    folder = tmp_path / "compact" / "round_01"
    assert (folder / "model.compact.safetensors").is_file() and not (folder / "model.safetensors").exists()
    model = load_compact_model(folder)
    mask = TicketMask.load(folder / "lth_mask.safetensors")
    params = dict(model.named_parameters())
    assert all(torch.count_nonzero(params[n][~m]) == 0 for n, m in mask.items())
    results = make_trainer(tmp_path, dataset, name="compact", lth_rounds=2, lth_compact_tickets=True).find_tickets()
    straight = make_trainer(tmp_path, dataset, name="dense", lth_rounds=2).find_tickets()
    assert results["rounds"][2]["mask_sha256"] == straight["rounds"][2]["mask_sha256"]
