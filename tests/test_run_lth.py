"""End to end: examples/run_lth.py on tiny CNN, LSTM and BERT configs over the shipped IMDb sample."""

import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainingArguments

from hf_lth.pruning.masks import TicketMask

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "run_lth.py"
TINY = {
    "cnn": "embedding_dim=16,num_filters=8",
    "lstm": "embedding_dim=16,hidden_size=16",
    "bert-tiny": "hidden_size=32,num_hidden_layers=2,num_attention_heads=2,intermediate_size=64",
}


def load_script():
    spec = importlib.util.spec_from_file_location("run_lth", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_flags(model: str, out: Path) -> list[str]:
    return [
        "--model_name_or_path", model, "--config_overrides", TINY[model], "--vocab_size", "2000",
        "--max_train_samples", "96", "--max_eval_samples", "48", "--max_test_samples", "48", "--max_seq_length", "64",
        "--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--lth_rounds", "2",
        "--output_dir", str(out), "--disable_tqdm", "true", "--report_to", "none",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cnn", "lstm", "bert-tiny"])
def test_run_lth_end_to_end(model, tmp_path, capsys):
    out = tmp_path / model
    assert load_script().main(tiny_flags(model, out)) == 0
    table = capsys.readouterr().out
    assert "| round | sparsity %" in table and "| 2" in table
    results = json.loads((out / "lth_results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]
    # tiny models on 96 rows may predict one class; the best round is never one of those (None if all are)
    trained = [r["round"] for r in results["rounds"] if not r["collapsed"]]
    assert results["best_round"] in trained if trained else results["best_round"] is None
    assert (out / "accuracy_vs_sparsity.png").is_file()
    ticket = out / "round_02"
    loaded, info = AutoModelForSequenceClassification.from_pretrained(ticket, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    mask = TicketMask.load(ticket / "lth_mask.safetensors")
    params = dict(loaded.named_parameters())
    assert all(torch.count_nonzero(params[n][~m]) == 0 for n, m in mask.items())
    assert loaded.config.lth["sparsity"] == pytest.approx(results["rounds"][2]["sparsity"])
    assert loaded.config.lth["dataset"] == "hf_lth IMDb sample"
    tokenizer = AutoTokenizer.from_pretrained(ticket)
    batch = tokenizer(["a great film", "dull and long"], return_tensors="pt", padding=True)
    assert loaded(**batch).logits.shape == (2, 2)


@pytest.mark.slow
def test_run_lth_from_json_file_and_resume(tmp_path, capsys):
    out = tmp_path / "json"
    config = {
        "model_name_or_path": "cnn", "config_overrides": TINY["cnn"], "vocab_size": 2000, "max_train_samples": 96,
        "max_eval_samples": 48, "max_test_samples": 48, "max_seq_length": 64, "num_train_epochs": 1,
        "lth_rounds": 1, "output_dir": str(out), "disable_tqdm": True,
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(config))
    script = load_script()
    assert script.main([str(path)]) == 0
    stamp = (out / "round_01" / "model.safetensors").stat().st_mtime_ns
    config["lth_rounds"] = 2
    path.write_text(json.dumps(config))
    assert script.main([str(path)]) == 0
    assert (out / "round_01" / "model.safetensors").stat().st_mtime_ns == stamp
    assert len(json.loads((out / "lth_results.json").read_text())["rounds"]) == 3


def test_bad_flag_value_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "bad"
    code = load_script().main(tiny_flags("cnn", out) + ["--lth_prune_rate", "1.5"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: lth_prune_rate must be in (0, 1), got 1.5."
    assert not out.exists()


def test_json_file_then_overriding_flags(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"model_name_or_path": "lstm", "lth_rounds": 3, "bf16": False, "report_to": ["none"]}))
    model_args, data_args, lth_args = load_script().parse_args([str(path), "--lth_rounds", "4", "--seed", "43"])
    assert (model_args.model_name_or_path, lth_args.lth_rounds, lth_args.seed) == ("lstm", 4, 43)


def test_unreadable_json_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    assert load_script().main([str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read the experiment file {path}")


def test_json_values_are_typed_like_flags_and_list_flags_keep_the_comma_form(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps({
        "num_train_epochs": 2, "lth_evaluate_test": False, "dataloader_pin_memory": False, "lth_rewind_steps": [0, 50],
        "lth_controls": "random_pruning,random_reinit", "lth_control_rounds": "5,10", "lth-prune-rate": 0.5,
    }))
    parse = load_script().parse_args
    _, _, args = parse([str(path)])
    assert args.num_train_epochs == 2.0 and isinstance(args.num_train_epochs, float)  # as --num_train_epochs 2
    assert (args.lth_evaluate_test, args.dataloader_pin_memory, args.lth_prune_rate) == (False, False, 0.5)
    assert (args.lth_controls, args.lth_control_rounds, args.lth_rewind_steps) == (
        ["random_pruning", "random_reinit"], [5, 10], [0, 50])
    _, _, args = parse([str(path), "--lth_control_rounds", "all", "--lth_controls", "random_reinit",
                        "--lth_evaluate_test"])
    assert (args.lth_control_rounds, args.lth_controls, args.lth_evaluate_test) == (None, ["random_reinit"], True)


@pytest.mark.parametrize("content, fragment", [
    ({"lth_prune_rte": 0.3, "seed": 1}, "error: the experiment file {path} sets unknown flags: lth_prune_rte."),
    (["--seed", "1"], "error: the experiment file {path} must hold a JSON object of flags."),
    ({"lth_strategy": "largest"}, "error: unknown lth_strategy 'largest'"),
])
def test_bad_experiment_file_is_one_error_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    assert load_script().main([str(path), "--output_dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and err.startswith(fragment.format(path=path)), err
    assert not (tmp_path / "out").exists()


def test_experiment_file_value_of_the_wrong_type_is_an_argparse_error(tmp_path, capsys):
    path = tmp_path / "typo.json"
    path.write_text(json.dumps({"lth_rounds": 2.5}))
    with pytest.raises(SystemExit) as exit_:
        load_script().main([str(path)])
    assert exit_.value.code == 2 and "argument --lth_rounds" in capsys.readouterr().err


def test_help_shows_the_examples_then_hf_lth_flags_then_trainer_flags():
    text = load_script().build_parser().format_help()
    usage, description = text.split("\n", 1)
    assert usage.startswith("usage: ") and len(usage) < 80  # not the ~150 lines of every flag
    # the script's examples, verbatim, before any flag
    example = "python examples/run_lth.py experiments/imdb_cnn.json --seed 43"
    assert text.index(example) < text.index("--model_name_or_path")
    flags = re.findall(r"^  (--\w+)", text, flags=re.MULTILINE)  # each flag where it is described, in order
    trainer = {f"--{f.name}" for f in dataclasses.fields(TrainingArguments)}
    first_trainer = min(i for i, flag in enumerate(flags) if flag in trainer)
    lth = [i for i, flag in enumerate(flags) if flag.startswith("--lth_")]
    assert flags.index("--model_name_or_path") < flags.index("--train_file") < min(lth)
    assert len(lth) >= 15 and max(lth) < first_trainer < flags.index("--per_device_train_batch_size")
    assert "LTHArguments changes the defaults of output_dir" in " ".join(text.split())


@pytest.mark.slow
def test_the_command_shows_one_bar_over_the_rounds(tmp_path, capsys):
    """Quiet by default: the round bar alone on stderr, without the libraries' bars (splits read, shuffled and
    tokenised, Trainer's steps and evaluations, shards written)."""
    flags = [flag if flag != "true" else "false" for flag in tiny_flags("cnn", tmp_path / "bars")]  # the bar on
    assert load_script().main(flags) == 0
    err = capsys.readouterr().err
    assert "round 2/2 · 36.0% sparse · rewind init" in err and "3/3" in err
    for noise in ("Tokenising", "Flattening", "examples/s", "it/s]", "Writing model shards", "Loading weights"):
        assert noise not in err, noise


def test_help_shows_trainers_common_flags_and_help_all_every_flag(capsys):
    parser = load_script().build_parser()
    short = parser.format_help()
    assert len(short.splitlines()) < 400  # of ~730 with every Trainer flag
    for common in ("--learning_rate", "--num_train_epochs", "--per_device_train_batch_size", "--seed", "--bf16",
                   "--report_to", "--push_to_hub", "--help-all"):
        assert f"  {common} " in short or f"  {common}\n" in short, common
    assert "--ddp_backend" not in short and "--torch_compile_mode" not in short
    # a hidden flag still parses, on the command line as in an experiment file
    *_, lth_args = parser.parse_cli(["--label_smoothing_factor", "0.1", "--no_dataloader_pin_memory"])
    assert lth_args.label_smoothing_factor == 0.1 and lth_args.dataloader_pin_memory is False
    with pytest.raises(SystemExit) as exit_:
        load_script().main(["--help-all"])
    assert exit_.value.code == 0
    every = capsys.readouterr().out
    assert "--ddp_backend" in every and "--torch_compile_mode" in every and len(every.splitlines()) > 600
    for flag in (f.name for f in dataclasses.fields(TrainingArguments) if f.init):
        assert f"--{flag}" in every, flag
