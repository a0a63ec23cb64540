"""The experiment files in experiments/: every JSON config parses into valid arguments, and the RNN ablation runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers.cli import REPO_ROOT, TINY, cli_env

from hf_lth.data.loading import DATASET_PRESETS, SHIPPED_SAMPLES
from hf_lth.errors import LTHInputError
from hf_lth.settings.arguments import accelerator_available
from hf_lth.settings.precision import cpu_bf16_instructions

sys.path.insert(0, str(REPO_ROOT / "examples"))
import run_lth  # noqa: E402

EXPERIMENTS = sorted((REPO_ROOT / "experiments").glob("*.json"))


def test_there_are_experiment_files():
    assert len(EXPERIMENTS) >= 5


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_experiment_file_parses(path):
    # GPU variants may ask for bf16, which TrainingArguments refuses on a CPU-only machine: parse them without it.
    cpu_only = ["--bf16", "false"] if path.stem.endswith("_gpu") else []
    asks_bf16 = json.loads(path.read_text()).get("bf16", False)
    if asks_bf16 and not path.stem.endswith("_gpu") and not (cpu_bf16_instructions() or accelerator_available()):
        # A CPU study in bf16, on a machine that cannot run it: refused with the reason; the rest parses in fp32.
        with pytest.raises(LTHInputError, match="needs a CPU with bf16 instructions"):
            run_lth.parse_args([str(path)])
        cpu_only = ["--bf16", "false"]
    model_args, data_args, lth_args = run_lth.parse_args([str(path), *cpu_only])
    assert model_args.model_name_or_path
    if data_args.dataset_name is None:  # the full data sets beside the checkout
        assert Path(data_args.train_file).name == "train.parquet" and Path(data_args.test_file).name == "test.parquet"
    else:  # a shipped sample, or (GPU variants) a data set from the Hub
        assert data_args.dataset_name in (DATASET_PRESETS if path.stem.endswith("_gpu") else SHIPPED_SAMPLES)
    assert lth_args.output_dir.startswith("runs/")
    if lth_args.load_best_model_at_end:  # the epoch kept within a round is chosen as the ticket is, on validation
        assert lth_args.metric_for_best_model == lth_args.lth_selection_metric


@pytest.mark.slow
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


def test_embedding_coverage_counts_token_occurrences(tmp_path, capsys):
    import pandas as pd
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(REPO_ROOT / "experiments"))
    import embedding_coverage

    from hf_lth import train_word_tokenizer

    tokenizer = train_word_tokenizer(["good movie", "bad film"], vocab_size=10)
    good, bad = tokenizer.convert_tokens_to_ids(["good", "bad"])
    ticket = torch.ones(len(tokenizer), 4, dtype=torch.bool)
    ticket[good] = False  # the ticket lost every weight of "good"
    ticket[bad, :3] = False  # and kept 1 of 4 for "bad"
    control = torch.ones_like(ticket)
    control_folder = tmp_path / "run" / "controls" / "random_pruning" / "round_01"
    for folder, mask in ((tmp_path / "run" / "round_01", ticket), (control_folder, control)):
        folder.mkdir(parents=True)
        save_file({"embedding.weight": mask}, str(folder / "lth_mask.safetensors"))
    tokenizer.save_pretrained(tmp_path / "run" / "round_01")
    pd.DataFrame({"text": ["good good bad", "bad film"], "label": [1, 0]}).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame({"text": ["good"], "label": [1]}).to_parquet(tmp_path / "test.parquet")

    embedding_coverage.main([str(tmp_path / "run"), "--round", "1", "--train_file", str(tmp_path / "train.parquet"),
                             "--test_file", str(tmp_path / "test.parquet")])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| IMP") or line.startswith("| random")]
    # train: good, good (0 kept), bad, bad (1 kept), film (4 kept) -> (0+0+1+1+4)/5 = 1.2 per token, 2 of 5 with none
    assert rows[0].split(" | ")[2:] == ["1.2 of 4", "40.00", "0.0 of 4", "100.00 |"]
    assert rows[1].split(" | ")[2:] == ["4.0 of 4", "0.00", "4.0 of 4", "0.00 |"]
    with pytest.raises(SystemExit, match="round_02.*does not exist"):
        embedding_coverage.main([str(tmp_path / "run"), "--round", "2"])
