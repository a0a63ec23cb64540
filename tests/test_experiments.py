"""The experiment files in experiments/: every JSON config parses into valid arguments, and the RNN ablation runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers.cli import REPO_ROOT, TINY, cli_env

sys.path.insert(0, str(REPO_ROOT / "examples"))
import run_lth  # noqa: E402

EXPERIMENTS = sorted((REPO_ROOT / "experiments").glob("*.json"))


def test_there_are_experiment_files():
    assert len(EXPERIMENTS) >= 5


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_experiment_file_parses(path):
    # GPU variants may ask for bf16, which TrainingArguments refuses on a CPU-only machine: parse them without it.
    cpu_only = ["--bf16", "false"] if path.stem.endswith("_gpu") else []
    model_args, data_args, lth_args = run_lth.parse_args([str(path), *cpu_only])
    assert model_args.model_name_or_path
    assert Path(data_args.train_file).name == "train.parquet" and Path(data_args.test_file).name == "test.parquet"
    assert lth_args.output_dir.startswith("runs/")
    assert lth_args.eval_strategy == "epoch"  # tickets are chosen on validation, so every round evaluates on it


@pytest.mark.parametrize("variant", ["unpacked", "torch_init"])
def test_rnn_ablation_runs(variant, tmp_path):
    import subprocess

    flags = [flag if flag != "cnn" else "rnn" for flag in TINY]
    flags[flags.index("--config_overrides") + 1] = "embedding_dim=16,hidden_size=8,bidirectional=False"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "experiments" / "rnn_ablation.py"), variant, *flags,
         "--output_dir", str(tmp_path / "out")],
        capture_output=True, text=True, env=cli_env(), timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "round_00" / "model.safetensors").is_file()
    assert not (tmp_path / "out" / "round_01").exists()
