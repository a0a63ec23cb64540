"""Two processes (torchrun, gloo, DDP on CPU): identical masks everywhere, one writer, complete results.

`accelerate launch --cpu --num_processes 2` starts a single process on a machine without GPUs (accelerate 1.15
uses its simple launcher there), so the multi-process path is tested with `torchrun`, which accelerate and
Trainer see as `MULTI_CPU` once the run is told to stay on the CPU (`--use_cpu`; see the last test for what
happens without it). `tests/helpers/ddp_run_lth.py` runs `examples/run_lth.py` unchanged and reports, from
every process, the digest of its mask and weights after each round and every file it wrote under the output
folder; the processes exchange their reports with `all_gather_object`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import REPO_ROOT, TINY, cli_env
from hf_lth.pruning.masks import MASK_FILE, TicketMask

pytestmark = pytest.mark.slow  # every test starts torchrun's two processes

WRAPPER = REPO_ROOT / "tests" / "helpers" / "ddp_run_lth.py"
RUN_LTH = REPO_ROOT / "examples" / "run_lth.py"
ROUNDS = 2
CONTROL = "random_pruning"


def torchrun(script: Path, args: list[str], env: dict[str, str], timeout: float = 240):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(script), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    out, report = root / "out", root / "report.json"
    args = TINY + ["--use_cpu", "--output_dir", str(out), "--lth_rounds", str(ROUNDS), "--lth_controls", CONTROL,
                   "--seed", "5"]
    proc = torchrun(WRAPPER, args, cli_env(HF_LTH_DDP_REPORT=str(report)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return out, json.loads(report.read_text()), proc


def test_two_processes_train_as_one_ddp_job(ddp_run):
    _, records, _ = ddp_run
    assert sorted(r["rank"] for r in records) == [0, 1]
    for record in records:
        assert record["exit_code"] == 0
        for entry in record["rounds"]:
            assert entry["world_size"] == 2 and entry["process_index"] == record["rank"]
            assert entry["parallel_mode"] == "ParallelMode.DISTRIBUTED"
            assert entry["distributed_type"] == "DistributedType.MULTI_CPU"


def test_every_process_holds_the_same_mask_and_weights_in_every_round(ddp_run):
    out, records, _ = ddp_run
    expected = [(i, None) for i in range(ROUNDS + 1)] + [(i, CONTROL) for i in range(1, ROUNDS + 1)]
    per_rank = {r["rank"]: r["rounds"] for r in records}
    for rank, rounds in per_rank.items():
        assert [(e["round"], e["control"]) for e in rounds] == expected, rank
        assert all(e["mask"] == e["applied_mask"] for e in rounds), "the callback applies another mask"
    for a, b in zip(per_rank[0], per_rank[1]):
        assert a["mask"] == b["mask"], f"round {a['round']} ({a['control']}): masks differ across processes"
        assert a["weights"] == b["weights"], f"round {a['round']} ({a['control']}): weights differ across processes"
    # what was written is what every process held
    for entry in per_rank[0]:
        base = out if entry["control"] is None else out / "controls" / entry["control"]
        assert TicketMask.load(base / f"round_{entry['round']:02d}" / MASK_FILE).digest() == entry["mask"]
    sparsities = [e["sparsity"] for e in per_rank[0] if e["control"] is None]
    assert sparsities == sorted(sparsities) and sparsities[0] == 0 and sparsities[-1] > 0.3


def test_only_the_main_process_writes_files(ddp_run):
    out, records, _ = ddp_run
    writes = {r["rank"]: r["writes"] for r in records}
    assert writes[0], "the audit hook saw no write at all: it is not working"
    assert writes[1] == [], f"process 1 wrote under the output folder: {writes[1][:10]}"


def test_results_are_complete(ddp_run):
    out, _, _ = ddp_run
    results = json.loads((out / "lth_results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == list(range(ROUNDS + 1))
    assert [r["round"] for r in results["controls"][CONTROL]] == list(range(1, ROUNDS + 1))
    trained = [r["round"] for r in results["rounds"] if not r["collapsed"]]  # a tiny model may predict one class
    assert results["best_round"] in trained if trained else results["best_round"] is None
    for record in results["rounds"] + results["controls"][CONTROL]:
        for key in ("eval_accuracy", "eval_f1", "test_accuracy", "test_f1", "train_loss", "mask_sha256", "sparsity"):
            assert key in record, (record["round"], key)
    folders = [out / f"round_{i:02d}" for i in range(ROUNDS + 1)]
    folders += [out / "controls" / CONTROL / f"round_{i:02d}" for i in range(1, ROUNDS + 1)]
    for folder in folders:
        names = set(os.listdir(folder))
        expected = {"config.json", "model.safetensors", MASK_FILE, "tokenizer.json", "lth_log_history.json"}
        assert expected <= names, folder
    leftovers = [p.name for p in out.rglob("*") if p.name.startswith(".")]
    assert not leftovers, leftovers


def test_torchrun_on_cpu_without_use_cpu_is_refused_not_run_twice(tmp_path):
    """Without --use_cpu on a machine without GPUs, transformers 5 gives each torchrun process its own
    single-process Trainer (`parallel_mode` NOT_PARALLEL): two copies of the experiment race on one folder, and
    process 1 (which skips `save_pretrained` because its torch.distributed rank is not 0) renames its ticket
    over process 0's, leaving tickets without weights. The run must stop with one clear message instead."""
    out = tmp_path / "out"
    proc = torchrun(RUN_LTH, TINY + ["--output_dir", str(out), "--lth_rounds", "0"], cli_env())
    assert proc.returncode != 0, "two independent copies ran on one folder"
    assert "use_cpu" in proc.stderr
    assert not out.exists() or not any(out.glob("round_*"))
