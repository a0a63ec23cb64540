"""Hostile input through the CLI (`examples/run_lth.py`'s `main`) and the API.

Every bad input must give exactly one line `error: ...` on stderr that names the file, column, flag or value,
no traceback, exit status 2 (argparse's own errors: 2 with usage), and leave nothing half-written. What
"nothing half-written" means depends on when the input is found to be bad:

- found before training (flags, data, model, mask): the output folder is not created, or, when it existed,
  its content is byte-for-byte what it was (`snapshot` compares names, sizes and modification times);
- found before round 0 trains (`step:K` beyond round 0): no round folder, no `lth_results.json`, no temporary or
  checkpoint files, and the same folder accepts the corrected command without `--overwrite_output_dir`.

Most cases call `main()` in-process (one process start costs seconds here); a few run the real script in a
subprocess to check the process exit status and the absence of a traceback end to end.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from helpers.cli import REPO_ROOT, cli_env, run_cli
from helpers.tiny import tiny_bert
from hf_lth import LTHArguments, LTHInputError, LTHTrainer, TicketMask

SAMPLE = REPO_ROOT / "hf_lth" / "sample_data" / "imdb_train.parquet"
BASE = [
    "--model_name_or_path", "cnn", "--config_overrides", "embedding_dim=8,num_filters=4,filter_sizes=[2,3]",
    "--vocab_size", "500", "--max_train_samples", "32", "--max_eval_samples", "16", "--max_test_samples", "16",
    "--max_seq_length", "32", "--num_train_epochs", "1", "--per_device_train_batch_size", "16",
    "--lth_rounds", "1", "--disable_tqdm", "true", "--report_to", "none", "--dataloader_pin_memory", "false",
]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("run_lth_cli_inputs", REPO_ROOT / "examples" / "run_lth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """60 real IMDb reviews, both classes, shortened so that tokenising stays quick."""
    df = pd.read_parquet(SAMPLE)
    df = pd.concat([df[df.label == 0].head(30), df[df.label == 1].head(30)]).sample(frac=1, random_state=0)
    df["text"] = df["text"].str.slice(0, 300)
    return df.reset_index(drop=True)


def call(script, argv, capsys):
    """main(argv) -> (exit status, stdout, stderr); argparse's SystemExit is an exit status too."""
    try:
        code = script.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, tuple[int, int]] | None:
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def assert_refused(result, *fragments: str, exit_code: int = 2) -> str:
    code, _, err = result
    assert code == exit_code, f"exit {code}, stderr:\n{err[-2000:]}"
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, f"expected one error line, got {lines}\n{err[-2000:]}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def refused_before_training(script, capsys, argv, out: Path, *fragments: str, exit_code: int = 2) -> str:
    before = snapshot(out)
    line = assert_refused(call(script, argv + ["--output_dir", str(out)], capsys), *fragments, exit_code=exit_code)
    assert snapshot(out) == before, f"{out} changed: was {before}, now {snapshot(out)}"
    return line


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- data files


def test_missing_train_file(script, capsys, tmp_path):
    refused_before_training(script, capsys, BASE + ["--train_file", str(tmp_path / "nope.csv")], tmp_path / "out",
                            "train_file", "nope.csv", "does not exist")


def test_a_folder_given_as_the_train_file(script, capsys, tmp_path):
    (tmp_path / "data.csv").mkdir()
    refused_before_training(script, capsys, BASE + ["--train_file", str(tmp_path / "data.csv")], tmp_path / "out",
                            "does not exist or is not a file")


def test_unsupported_extension(script, capsys, tmp_path):
    (tmp_path / "train.txt").write_text("hello\n")
    refused_before_training(script, capsys, BASE + ["--train_file", str(tmp_path / "train.txt")], tmp_path / "out",
                            "train_file", "unsupported extension '.txt'")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_empty_file(script, capsys, tmp_path, suffix):
    path = tmp_path / f"train{suffix}"
    path.write_bytes(b"")
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out", "is empty")


def test_header_only_csv(script, capsys, tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\n")
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out", "train_file",
                            "no data rows")


@pytest.mark.parametrize("name, content, fragment", [
    ("train.csv", b'text,label\n"fine",1\n"too many",0,extra,fields\n"more",1\n', "could not be read as csv"),
    ("train.jsonl", b'{"text": "a", "label": 1}\n{"text": "b", "label": \n', "could not be read as json"),
    ("train.json", b'[{"text": "a", "label": 1}, {"text": ', "could not be read as json"),
    ("train.parquet", b"PAR1 this is not parquet at all PAR1", "could not be read as parquet"),
])
def test_malformed_file(script, capsys, tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out", name, fragment)


def test_non_utf8_bytes(script, capsys, tmp_path, frame):
    path = tmp_path / "train.csv"
    frame.assign(text=frame.text + " café").to_csv(path, index=False, encoding="latin-1")
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "not valid UTF-8", "0xe9")


def test_missing_text_column(script, capsys, tmp_path, frame):
    path = write_csv(tmp_path / "train.csv", frame.rename(columns={"text": "review"}))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "no text column 'text'", "'review'", "--text_column")


def test_missing_label_column_named_by_flag(script, capsys, tmp_path, frame):
    path = write_csv(tmp_path / "train.csv", frame)
    refused_before_training(script, capsys, BASE + ["--train_file", str(path), "--label_column", "stars"],
                            tmp_path / "out", "no label column 'stars'", "--label_column")


def test_text_column_holding_numbers(script, capsys, tmp_path, frame):
    path = write_csv(tmp_path / "train.csv", frame.assign(text=range(len(frame))))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "text column 'text'", "not text")


def test_negative_label(script, capsys, tmp_path, frame):
    labels = frame.label.copy()
    labels.iloc[3] = -1
    path = write_csv(tmp_path / "train.csv", frame.assign(label=labels))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "label -1", "outside 0..1")


def test_test_label_beyond_the_train_labels(script, capsys, tmp_path, frame):
    train = write_csv(tmp_path / "train.csv", frame)
    test = write_csv(tmp_path / "test.csv", frame.head(10).assign(label=[0, 1, 7, 0, 1, 0, 1, 0, 1, 0]))
    refused_before_training(script, capsys, BASE + ["--train_file", str(train), "--test_file", str(test)],
                            tmp_path / "out", "label 7", "test split", "outside 0..1")


def test_nan_label(script, capsys, tmp_path, frame):
    labels = frame.label.astype(float)
    labels.iloc[5] = float("nan")
    path = write_csv(tmp_path / "train.csv", frame.assign(label=labels))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "missing (null or NaN) labels")


def test_fractional_label(script, capsys, tmp_path, frame):
    labels = frame.label.astype(float)
    labels.iloc[2] = 0.5
    path = write_csv(tmp_path / "train.csv", frame.assign(label=labels))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "non-integer label 0.5")


def test_mixed_label_types_in_csv(script, capsys, tmp_path, frame):
    labels = frame.label.astype(str)
    labels.iloc[4] = "pos"
    path = write_csv(tmp_path / "train.csv", frame.assign(label=labels))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "mixes integer and string labels")


def test_mixed_label_types_in_jsonl(script, capsys, tmp_path, frame):
    rows = frame.to_dict("records")
    rows[4]["label"] = "pos"
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out", "mixes label types")


def test_all_texts_empty(script, capsys, tmp_path, frame):
    path = write_csv(tmp_path / "train.csv", frame.assign(text=["", "   "] * (len(frame) // 2)))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out",
                            "texts", "are empty or missing")


def test_single_class(script, capsys, tmp_path, frame):
    path = write_csv(tmp_path / "train.csv", frame.assign(label=1))
    refused_before_training(script, capsys, BASE + ["--train_file", str(path)], tmp_path / "out", "single class")


@pytest.mark.slow
def test_very_long_texts_are_truncated_not_an_error(script, capsys, tmp_path, frame):
    long = frame.assign(text=(frame.text + " ") * 200)  # about 10,000 words each
    path = write_csv(tmp_path / "train.csv", long)
    out = tmp_path / "out"
    code, _, err = call(script, BASE + ["--train_file", str(path), "--output_dir", str(out)], capsys)
    assert code == 0, err[-3000:]
    assert "error:" not in err
    results = json.loads((out / "lth_results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1]


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.2", "nan"])
def test_prune_rate_outside_the_open_unit_interval(script, capsys, tmp_path, value):
    refused_before_training(script, capsys, BASE + ["--lth_prune_rate", value], tmp_path / "out",
                            "lth_prune_rate must be in (0, 1)")


def test_negative_rounds(script, capsys, tmp_path):
    refused_before_training(script, capsys, BASE + ["--lth_rounds", "-1"], tmp_path / "out",
                            "lth_rounds must be >= 0")


def test_target_sparsity_outside_the_open_unit_interval(script, capsys, tmp_path):
    refused_before_training(script, capsys, BASE + ["--lth_target_sparsity", "1"], tmp_path / "out",
                            "lth_target_sparsity must be in (0, 1)")


@pytest.mark.parametrize("spec", ["late", "step:", "step:x", "step:-3", "step:1.5"])
def test_unknown_rewind(script, capsys, tmp_path, spec):
    refused_before_training(script, capsys, BASE + ["--lth_rewind", spec], tmp_path / "out",
                            f"unknown lth_rewind '{spec}'")


@pytest.mark.parametrize("controls", [["random_pruning,shuffle"], ["random_pruning", "shuffle"]])
def test_unknown_control(script, capsys, tmp_path, controls):
    refused_before_training(script, capsys, BASE + ["--lth_controls", *controls], tmp_path / "out",
                            "unknown lth_controls", "shuffle")


@pytest.mark.parametrize("rounds", [["0,5"], ["0", "5"], ["last"], [""]])
def test_control_rounds_that_are_not_pruned_rounds(script, capsys, tmp_path, rounds):
    refused_before_training(script, capsys, BASE + ["--lth_control_rounds", *rounds], tmp_path / "out",
                            "lth_control_rounds must be 'all' or pruned round numbers")


def test_non_positive_sequence_length(script, capsys, tmp_path):
    refused_before_training(script, capsys, BASE + ["--max_seq_length", "0"], tmp_path / "out",
                            "max_seq_length must be a positive integer")


def test_unknown_config_override(script, capsys, tmp_path):
    argv = [a if a != "embedding_dim=8,num_filters=4,filter_sizes=[2,3]" else "embeding_dim=8" for a in BASE]
    refused_before_training(script, capsys, argv, tmp_path / "out", "config_overrides", "'embeding_dim'")


def test_unknown_model(script, capsys, tmp_path):
    argv = [a if a != "cnn" else str(tmp_path / "no_such_model") for a in BASE]
    refused_before_training(script, capsys, argv, tmp_path / "out", "no_such_model")


@pytest.mark.parametrize("flag, value", [
    ("--per_device_train_batch_size", "0"),
    ("--gradient_accumulation_steps", "0"),
    ("--learning_rate", "-0.001"),
])
def test_trainer_flags_with_impossible_values(script, capsys, tmp_path, flag, value):
    """Trainer's own flags are input too: without a check they fail deep inside torch (DataLoader, AdamW)
    with a traceback, after the output folder was claimed."""
    refused_before_training(script, capsys, BASE + [flag, value], tmp_path / "out", flag.lstrip("-"), value)


@pytest.mark.parametrize("argv, fragments", [
    (["--lth_rounds", "two"], ["invalid int value: 'two'"]),
    (["--lth_prune_rte", "0.3"], ["unrecognized arguments: --lth_prune_rte"]),
    # choices: argparse names the flag, the value and every choice
    (["--lth_strategy", "smallest"], ["argument --lth_strategy", "invalid choice", "smallest", "global_magnitude"]),
    (["--lth_selection_metric", "loss"], ["argument --lth_selection_metric", "invalid choice", "loss", "f1"]),
])
def test_argparse_errors_exit_2_with_usage(script, capsys, tmp_path, argv, fragments):
    out = tmp_path / "out"
    code, _, err = call(script, BASE + argv + ["--output_dir", str(out)], capsys)
    assert code == 2 and "usage:" in err and "Traceback" not in err
    assert all(fragment in err for fragment in fragments), err
    assert not out.exists()


# ---------------------------------------------------------------- masks that do not fit


def _cnn_mask(tmp_path, shapes: dict[str, tuple[int, ...]]) -> Path:
    path = tmp_path / "mask.safetensors"
    save_file({name: torch.ones(shape, dtype=torch.bool) for name, shape in shapes.items()}, str(path))
    return path


def test_init_mask_naming_parameters_the_model_lacks(script, capsys, tmp_path):
    mask = _cnn_mask(tmp_path, {"encoder.layer.0.weight": (4, 4)})
    refused_before_training(script, capsys, BASE + ["--lth_init_mask", str(mask)], tmp_path / "out",
                            "initial mask", "encoder.layer.0.weight")


def test_init_mask_with_other_shapes(script, capsys, tmp_path):
    mask = _cnn_mask(tmp_path, {"embedding.weight": (3, 8), "classifier.weight": (2, 8)})
    refused_before_training(script, capsys, BASE + ["--lth_init_mask", str(mask)], tmp_path / "out",
                            "initial mask", "shape (3, 8)", "embedding.weight")


def test_init_mask_that_is_not_a_mask_file(script, capsys, tmp_path):
    bad = tmp_path / "mask.safetensors"
    bad.write_bytes(b"\x00" * 64)
    refused_before_training(script, capsys, BASE + ["--lth_init_mask", str(bad)], tmp_path / "out",
                            "not a readable safetensors file")
    weights = tmp_path / "weights.safetensors"
    save_file({"embedding.weight": torch.zeros(3, 8)}, str(weights))
    refused_before_training(script, capsys, BASE + ["--lth_init_mask", str(weights)], tmp_path / "out",
                            "non-bool tensors")


def test_init_mask_file_that_does_not_exist(script, capsys, tmp_path):
    refused_before_training(script, capsys, BASE + ["--lth_init_mask", str(tmp_path / "gone.safetensors")],
                            tmp_path / "out", "gone.safetensors", "does not exist")


def test_api_mask_that_does_not_fit_names_the_parameter(tmp_path):
    model = tiny_bert(num_hidden_layers=1)
    name = "bert.encoder.layer.0.intermediate.dense.weight"
    path = tmp_path / "m.safetensors"
    TicketMask({name: torch.ones(5, 5, dtype=torch.bool)}).save(path)
    args = LTHArguments(output_dir=str(tmp_path / "out"), report_to=[])
    with pytest.raises(LTHInputError, match=rf"shape \(5, 5\) for '{name}'.*\(32, 16\)"):
        LTHTrainer(model=model, args=args, mask=TicketMask.load(path))
    TicketMask({"bert.no.such.weight": torch.ones(2, dtype=torch.bool)}).save(path)
    with pytest.raises(LTHInputError, match="bert.no.such.weight"):
        LTHTrainer(model=model, args=args, mask=TicketMask.load(path))
    # Trainer.__init__ creates output_dir (empty) before LTHTrainer checks the mask; nothing is written in it.
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ---------------------------------------------------------------- the output folder


@pytest.mark.slow
def test_output_dir_holding_another_experiment_is_refused_unless_overwritten(script, capsys, tmp_path):
    out = tmp_path / "out"
    argv = BASE + ["--lth_rounds", "0", "--output_dir", str(out)]
    code, _, err = call(script, argv, capsys)
    assert code == 0, err[-3000:]
    before = snapshot(out)
    line = assert_refused(call(script, argv + ["--lth_prune_rate", "0.5"], capsys),
                          f"output_dir {out}", "lth_prune_rate: 0.2 -> 0.5", "--overwrite_output_dir")
    assert snapshot(out) == before, "the refused run changed the folder"
    assert line.count("\n") == 0
    code, _, err = call(script, argv + ["--lth_prune_rate", "0.5", "--overwrite_output_dir"], capsys)
    assert code == 0, err[-3000:]
    assert json.loads((out / "lth_results.json").read_text())["experiment"]["lth_prune_rate"] == 0.5


def test_output_dir_that_is_a_file(script, capsys, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    assert_refused(call(script, BASE + ["--output_dir", str(out)], capsys), "output_dir", str(out))
    assert out.read_text() == "not a folder"


def test_late_rewind_step_beyond_round_0(script, capsys, tmp_path):
    """32 train rows x 70 % / batch 16: round 0 has 2 steps, so step:1000 is refused before training."""
    out = tmp_path / "out"
    assert_refused(call(script, BASE + ["--lth_rewind", "step:1000", "--output_dir", str(out)], capsys),
                   "lth_rewind step:1000 is beyond round 0", "2 steps")
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [n for n in left if n.startswith(("round_", "lth_results", "."))], left
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").rglob("checkpoint-*"))
    # nothing of the failed run blocks the corrected command in the same folder
    code, _, err = call(script, BASE + ["--lth_rewind", "step:1", "--output_dir", str(out)], capsys)
    assert code == 0, err[-3000:]


# ---------------------------------------------------------------- end to end, as a process


@pytest.mark.parametrize("argv, fragment", [
    (["--lth_prune_rate", "2"], "error: lth_prune_rate must be in (0, 1), got 2.0."),
    (["--train_file", "/no/such/train.csv"], "error: train_file '/no/such/train.csv' does not exist"),
])
@pytest.mark.slow
def test_the_process_exits_2_with_one_line_and_no_traceback(tmp_path, argv, fragment):
    out = tmp_path / "out"
    run = run_cli(BASE + argv + ["--output_dir", str(out)], cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(fragment), run.stderr[-2000:]
    assert not out.exists()


@pytest.mark.slow
def test_a_misspelled_model_fails_in_seconds_without_network_naming_the_preset(tmp_path):
    """With the Hub left on (HF_HUB_OFFLINE unset) and no network, or a Hub that does not know the name, the
    run does not wait for the Hub's retries: one line, exit 2, well under 15 s, before any data is read."""
    env = cli_env()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(name, None)
    started = time.monotonic()
    run = run_cli(["--model_name_or_path", "lstn", "--output_dir", str(tmp_path / "out")], env=env, cwd=tmp_path,
                  timeout=60)
    took = time.monotonic() - started
    assert run.returncode == 2, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --model_name_or_path 'lstn' is not a preset (did you mean "
                                                   "'lstm'?), not a local folder"), run.stderr[-2000:]
    # How long it takes is measured, not asserted (a loaded machine would make a timed assert flaky): the Hub is
    # asked once, without retries (tests/loading/test_models.py), and the time goes to the log of this test.
    print(f"a misspelled model failed in {took:.1f} s")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_refused_setting_under_accelerate_launch(script, capsys, tmp_path):
    """The README's `accelerate launch` command against a folder trained with another learning rate.

    hf_lth's process prints one line and exits 2, as with `python`; accelerate's single-process launcher runs it as a
    child and reports the failure itself: a CalledProcessError traceback after the line and exit 1 (accelerate 1.16,
    `_run_subprocess`; nothing in the launched process or the config file changes that), or, with accelerate's own
    `-q`/`--quiet`, the line alone and exit 1. docs/how-to/devices.md says so."""
    out = tmp_path / "out"
    code, _, err = call(script, BASE + ["--lth_rounds", "0", "--output_dir", str(out)], capsys)
    assert code == 0, err[-3000:]
    argv = BASE + ["--lth_rounds", "0", "--output_dir", str(out), "--learning_rate", "0.01"]
    refusal = f"error: output_dir {out} holds an experiment with other settings (learning_rate: 0.001 -> 0.01)"

    alone = run_cli(argv, cwd=tmp_path)
    assert alone.returncode == 2 and alone.stderr.count("\n") == 1 and alone.stderr.startswith(refusal), alone.stderr

    launch = [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--config_file",
              str(REPO_ROOT / "examples" / "accelerate_single.yaml")]
    for quiet in (["-q"], []):
        done = subprocess.run(launch + quiet + [str(REPO_ROOT / "examples" / "run_lth.py"), *argv], cwd=tmp_path,
                              env=cli_env(), capture_output=True, text=True, timeout=300)
        lines = done.stderr.splitlines()
        assert done.returncode != 0 and lines[0].startswith(refusal), done.stderr[-3000:]
        assert [line for line in lines if line.startswith("error:")] == lines[:1]  # hf_lth's part: one line
        if quiet:
            assert len(lines) == 1, done.stderr[-3000:]
