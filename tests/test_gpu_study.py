"""experiments/gpu_study.sh (issue 22 §3): the full-size commands it would run on the GPU, and a tiny run on CPU that
packs the records the GPU machine sends back, unpacked by experiments/unpack_gpu_study.py."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tarfile

import pytest

from helpers.cli import REPO_ROOT, cli_env

from hf_lth import run as hf_run

sys.path.insert(0, str(REPO_ROOT / "experiments"))
import unpack_gpu_study  # noqa: E402

SCRIPT = REPO_ROOT / "experiments" / "gpu_study.sh"


def dry_run_commands(**env: str) -> list[tuple[str, list[str]]]:
    """(phase comment, `python -m hf_lth.run` arguments) of each command the full study would run."""
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env=cli_env(GPU_STUDY_DRY_RUN="1", **env))
    assert done.returncode == 0, done.stderr
    commands, phase = [], None
    for line in done.stdout.splitlines():
        if line.startswith("# phase"):
            phase = line
        elif line.strip() and not line.startswith("#"):
            words = shlex.split(line)
            commands.append((phase, words[words.index("hf_lth.run") + 1:]))
    return commands


def flag(argv: list[str], name: str) -> str:
    return argv[len(argv) - 1 - argv[::-1].index(name) + 1]


def test_full_study_commands():
    commands = dry_run_commands(GPU_STUDY_EXTRA_CONTROL_ROUNDS="3")
    first = [argv for phase, argv in commands if phase.startswith("# phase 1")]
    second = [argv for phase, argv in commands if phase.startswith("# phase 2")]
    assert len(first) == 3 and len(second) == 3
    seeds = set()
    for argv in first + second:
        assert flag(argv, "--bf16") == "true"
        model_args, data_args, args = hf_run.parse_args([*argv, "--bf16", "false"])  # no bf16 on this CPU
        seeds.add(args.seed)
        assert args.output_dir == f"runs/imdb_minilm_gpu_seed{args.seed}"
        assert model_args.model_name_or_path == "runs/gpu_study_assets/minilm"
        assert (data_args.train_file, data_args.test_file) == (".gpu/imdb/train.parquet", ".gpu/imdb/test.parquet")
        assert data_args.validation_split_percentage == 30 and data_args.max_seq_length == 256
        assert data_args.max_train_samples is None and data_args.max_test_samples is None  # the full splits
        assert args.learning_rate == 2e-5 and args.per_device_train_batch_size == 32
        assert args.num_train_epochs == 2 and args.per_device_eval_batch_size >= 256
        assert args.lth_prune_schedule == "linear" and args.lth_prune_rate == 0.1
        assert args.lth_rewind == "init" and args.lth_strategy == "global_magnitude"
        assert args.num_pruning_rounds * args.lth_prune_rate >= 0.6 - 1e-9
        assert set(args.controls) == {"random_pruning", "random_reinit"}
        assert args.eval_strategy == "no" and args.save_strategy == "no" and args.disable_tqdm
    assert seeds == {42, 43, 44}
    last = hf_run.parse_args([*first[0], "--bf16", "false"])[2].num_pruning_rounds
    assert all(hf_run.parse_args([*a, "--bf16", "false"])[2].control_rounds == [last] for a in first)
    assert all(hf_run.parse_args([*a, "--bf16", "false"])[2].control_rounds == [3, last] for a in second)


def test_default_study_leaves_time_for_both_controls():
    """The 2026-12-04 run cut random re-initialisation at a 420 s deadline: by default the deadline is 500 s and
    only the last round's controls run."""
    commands = dry_run_commands()
    assert [phase.split(",")[0] for phase, _ in commands] == ["# phase 1"] * 3
    header = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                            env=cli_env(GPU_STUDY_DRY_RUN="1")).stdout.splitlines()[0]
    assert header.endswith("budget 500s"), header


@pytest.mark.timeout(400)
def test_tiny_study_packs_the_records(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=380,
                          env=cli_env(GPU_STUDY_TINY="1", GPU_STUDY_SEEDS="42", GPU_STUDY_WORK=str(tmp_path),
                                      OUT=str(out)))  # one seed: ~40 s on 2 cores
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sent = sorted(p.name for p in out.iterdir())
    assert sent == ["env.txt", "gpu_study.log", "gpu_study.tar.gz", "seed42.log"]  # the device returns at most 8
    assert "phase 1 seed 42 rc=0" in (out / "env.txt").read_text()
    assert "GPU:" in (out / "seed42.log").read_text()

    with tarfile.open(out / "gpu_study.tar.gz") as tar:
        names = set(tar.getnames())
    for seed in (42,):
        run = f"gpu_study/imdb_minilm_gpu_seed{seed}"
        assert {f"{run}/lth_results.json", f"{run}/report.md", f"{run}/accuracy_vs_sparsity.png"} <= names
        for folder in ["round_00", "round_01", "round_02", *(f"controls/{kind}/round_0{r}" for kind in
                                                            ("random_pruning", "random_reinit") for r in (1, 2))]:
            assert f"{run}/{folder}/config.json" in names
            assert f"{run}/{folder}/lth_predictions.safetensors" in names
    assert not [n for n in names if n.endswith(".safetensors") and "predictions" not in n]  # no weights or masks
    assert not [n for n in names if "tokenizer" in n or "rewind_points" in n]
    assert {"gpu_study/env.txt", "gpu_study/assets.json", "gpu_study/fp16_rounding.json",
            "gpu_study/logs/gpu_study.log"} <= names

    results = tmp_path / "results"
    unpack_gpu_study.main([str(out / "gpu_study.tar.gz"), "--results", str(results)])
    record = json.loads((results / "imdb_minilm_gpu_seed42" / "lth_results.json").read_text())
    assert [round(r["sparsity"], 2) for r in record["rounds"]] == [0.0, 0.3, 0.6]
    assert {kind: [c["round"] for c in runs] for kind, runs in record["controls"].items()} == {
        "random_pruning": [1, 2], "random_reinit": [1, 2]}
    assert (results / "imdb_minilm_gpu" / "env.txt").is_file()
    with pytest.raises(SystemExit, match="exists"):
        unpack_gpu_study.main([str(out / "gpu_study.tar.gz"), "--results", str(results)])
