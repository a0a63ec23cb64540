"""LTHTrainer on a tiny BERT and synthetic token data: rounds, masks, rewinding, controls, resume."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, TrainerCallback

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask

from helpers.tiny import RoundStartRecorder, make_trainer


@pytest.mark.slow
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
    rewind = load_file(str(out / "rewind_points" / "step_000000.safetensors"))
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
    assert recorder.lrs[0] == recorder.lrs[1] and recorder.first_lr[0] == pytest.approx(1e-2)
    assert not (out / "rewind_points").exists()


def test_late_rewinding_trains_the_rest_of_round_0s_schedule(tmp_path, dataset):
    """step:K (Frankle et al. 2020): a later round starts from the weights after step K and trains round 0's
    steps K..T, at round 0's learning rates of those steps (failed before: T steps with the schedule restarted)."""
    recorder = RoundStartRecorder()
    results = make_trainer(tmp_path, dataset, name="late", callbacks=[recorder], lth_rounds=2, lth_rewind="step:2",
                           warmup_steps=2).find_tickets()
    total = results["rounds"][0]["train_steps"]
    assert total == 6 and [r["train_steps"] for r in results["rounds"][1:]] == [total - 2, total - 2]
    assert len(recorder.lrs[0]) == total
    for later in recorder.lrs[1:]:
        assert later == pytest.approx(recorder.lrs[0][2:], abs=1e-12)
    rewind = load_file(str(tmp_path / "late" / "rewind_points" / "step_000002.safetensors"))
    assert not torch.equal(rewind["classifier.weight"], recorder.starts[0]["classifier.weight"])
    mask = TicketMask.load(tmp_path / "late" / "round_01" / "lth_mask.safetensors")
    assert all(torch.equal(recorder.starts[1][n], rewind[n] * mask[n]) for n in mask)
    with pytest.raises(LTHInputError, match="step:99 is beyond round 0, which will take 6 steps"):
        make_trainer(tmp_path, dataset, name="far", lth_rounds=1, lth_rewind="step:99").find_tickets()


def test_finetune_trains_at_a_fraction_of_the_peak_rate(tmp_path, dataset):
    """Fine-tuning rounds train at lth_finetune_lr_fraction x learning_rate, constant (failed before: round 0's
    final rate, ~0 under linear decay), and their training loss falls."""
    recorder = RoundStartRecorder()
    results = make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1, lth_rewind="finetune",
                           lth_prune_rate=0.6, num_train_epochs=4).find_tickets()
    assert recorder.lrs[1] == pytest.approx([1e-3] * 12)
    assert results["rounds"][1]["first_learning_rate"] == pytest.approx(1e-3)
    history = json.loads((tmp_path / "run" / "round_01" / "lth_log_history.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    assert sum(losses[-3:]) < sum(losses[:3])
    trained = load_file(str(tmp_path / "run" / "round_01" / "model.safetensors"))
    start = recorder.starts[1]
    assert any(not torch.equal(trained[n], start[n]) for n in trained if n in start)


@pytest.mark.slow
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


@pytest.mark.slow
def test_controls_only_at_the_chosen_rounds(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_rounds=2, lth_controls="random_pruning", lth_control_rounds="2",
                           num_train_epochs=1)
    results = trainer.find_tickets()
    assert [r["round"] for r in results["controls"]["random_pruning"]] == [2]
    assert sorted(p.name for p in (tmp_path / "run" / "controls" / "random_pruning").iterdir()) == ["round_02"]
    with pytest.raises(LTHInputError, match=r"no finished pruned round among rounds \[7\]"):
        trainer.run_controls(["random_reinit"], rounds=[7])


@pytest.mark.slow
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
    assert all(w.dtype == torch.float32 for w in weights.values())  # fp32 master weights under bf16 autocast


@pytest.mark.slow
def test_compact_tickets_resume_and_load(tmp_path, dataset):
    from hf_lth.storage.compact import load_compact_model

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


@pytest.mark.slow
def test_records_give_the_sparsity_without_the_embedding(tmp_path, dataset):
    """In a TextCNN the embedding holds most prunable weights; every record also gives the sparsity of the
    others (failed before: only the all-prunable figure existed), and `no_embedding` leaves it dense."""
    from hf_lth import TextCNNConfig, TextCNNForSequenceClassification

    def cnn():
        torch.manual_seed(0)
        return TextCNNForSequenceClassification(TextCNNConfig(vocab_size=64, embedding_dim=16, num_filters=4,
                                                              filter_sizes=[2, 3], num_labels=2))

    results = make_trainer(tmp_path, dataset, name="cnn", model=cnn(), lth_rounds=1, num_train_epochs=1).find_tickets()
    record = results["rounds"][1]
    mask = TicketMask.load(tmp_path / "cnn" / "round_01" / "lth_mask.safetensors")
    embedding = record["embedding_parameters"]
    assert embedding == ["embedding.weight"]
    others = [name for name in mask if name not in embedding]
    kept = sum(int(mask[n].sum()) for n in others)
    assert record["sparsity_without_embedding"] == pytest.approx(1 - kept / sum(mask[n].numel() for n in others))
    assert record["sparsity_without_embedding"] != pytest.approx(record["sparsity"])
    dense_embedding = make_trainer(tmp_path, dataset, name="cnn_no_embedding", model=cnn(), lth_rounds=1,
                                   num_train_epochs=1, lth_prune_scope="no_embedding").find_tickets()
    record = dense_embedding["rounds"][1]
    assert record["embedding_parameters"] == [] and record["sparsity_without_embedding"] == pytest.approx(record["sparsity"])
    assert "embedding.weight" not in TicketMask.load(tmp_path / "cnn_no_embedding" / "round_01" / "lth_mask.safetensors")
