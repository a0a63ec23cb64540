"""Two processes with FSDP2 (torchrun, gloo, `fully_shard` on the CPU): the same masks and records as one process.

accelerate 1.16 enables FSDP on GPUs and other accelerators only, so `tests/helpers/fsdp_run_lth.py` lets its state
take the FSDP plugin under `MULTI_CPU` (test-only) and runs `examples/run_lth.py` unchanged. Each process holds half
the rows of every masked tensor (32 of the 64 filters of each convolution). The single process trains the same
batches: per-device batch 8 with 2 accumulation steps is the 2 processes' batch of 8 each, and without dropout no
random draw differs (each process would draw its own dropout masks).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers.cli import REPO_ROOT, TINY, cli_env, run_cli

pytestmark = pytest.mark.slow  # every test starts processes

WRAPPER = REPO_ROOT / "tests" / "helpers" / "fsdp_run_lth.py"
RUN_LTH = REPO_ROOT / "examples" / "run_lth.py"
ROUNDS = 2
CONTROLS = ["random_pruning", "random_reinit"]
MODEL = ["--config_overrides", "embedding_dim=16,num_filters=64,dropout=0.0"]
EXPERIMENT = TINY + MODEL + ["--lth_rounds", str(ROUNDS), "--lth_controls", ",".join(CONTROLS), "--seed", "5"]
# Differ with the number of processes whatever the weights: times; Trainer's `train_loss`, which under several
# processes is process 0's own loss; and the evaluation losses, averaged over the processes' halves (to rounding).
TIME_FIELDS = {"train_time_s", "eval_time_s", "wall_time_s", "eval_runtime", "test_runtime", "search_time_s"}
LOSSES = {"eval_loss", "test_loss"}


def torchrun(script, args: list[str], env: dict[str, str], timeout: float = 300):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(script), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


def _records(results: dict) -> list[dict]:
    return results["rounds"] + [r for kind in CONTROLS for r in results["controls"][kind]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp")
    report = root / "report.json"
    proc = torchrun(WRAPPER, EXPERIMENT + ["--use_cpu", "--fsdp", "--output_dir", str(root / "fsdp")],
                    cli_env(HF_LTH_FSDP_REPORT=str(report)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    single = run_cli(EXPERIMENT + ["--gradient_accumulation_steps", "2", "--output_dir", str(root / "single")])
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-5000:]
    results = {name: json.loads((root / name / "lth_results.json").read_text()) for name in ("fsdp", "single")}
    return results, json.loads(report.read_text()), root


def test_each_process_trains_half_of_every_masked_tensor(runs):
    _, records, _ = runs
    assert sorted(r["rank"] for r in records) == [0, 1]
    for record in records:
        assert record["exit_code"] == 0 and len(record["rounds"]) == ROUNDS + 1 + ROUNDS * len(CONTROLS)
        for entry in record["rounds"]:
            assert entry["distributed_type"] == "DistributedType.FSDP" and entry["sharded"]
            shapes = entry["local_shapes"]
            assert [shapes[f"convs.{i}.weight"][0] for i in range(3)] == [32, 32, 32]
            assert shapes["embedding.weight"] == [1000, 16]


def test_the_masks_are_those_of_one_process(runs):
    results, records, _ = runs
    fsdp, single = (_records(results[name]) for name in ("fsdp", "single"))
    assert [(r["round"], r["control"]) for r in fsdp] == [(r["round"], r["control"]) for r in single]
    assert [r["mask_sha256"] for r in fsdp] == [r["mask_sha256"] for r in single]
    assert fsdp[-1]["sparsity"] > 0.3
    for record in records:  # every process held the mask that was written
        assert [e["mask"] for e in record["rounds"]] == [r["mask_sha256"] for r in fsdp]


def test_the_records_are_those_of_one_process(runs):
    results, _, _ = runs
    for fsdp, single in zip(*(_records(results[name]) for name in ("fsdp", "single"))):
        where = (fsdp["round"], fsdp["control"])
        assert fsdp.keys() == single.keys(), where
        same = set(fsdp) - TIME_FIELDS - LOSSES - {"train_loss"}
        assert {k: fsdp[k] for k in same} == {k: single[k] for k in same}, where
        assert {k: fsdp[k] for k in LOSSES} == pytest.approx({k: single[k] for k in LOSSES}, rel=1e-5), where
    assert results["fsdp"]["best_round"] == results["single"]["best_round"]


def test_tickets_are_written_whole_as_one_process_writes_them(runs):
    from safetensors.torch import load_file

    _, _, root = runs
    for round_dir in ("round_00", "round_02", "controls/random_reinit/round_02"):
        fsdp, single = (root / name / round_dir for name in ("fsdp", "single"))
        assert sorted(p.name for p in fsdp.iterdir()) == sorted(p.name for p in single.iterdir())
        config = json.loads((fsdp / "config.json").read_text())
        assert config["auto_map"] == json.loads((single / "config.json").read_text())["auto_map"]
        weights, reference = (load_file(folder / "model.safetensors") for folder in (fsdp, single))
        assert weights.keys() == reference.keys()
        for name, tensor in weights.items():
            assert tensor.shape == reference[name].shape
            assert (tensor - reference[name]).abs().max() < 1e-5, (round_dir, name)


def test_fsdp_that_accelerate_would_drop_is_refused(tmp_path):
    """Without the shim, accelerate drops the FSDP plugin on the CPU: the run must stop, not train unsharded."""
    out = tmp_path / "out"
    proc = torchrun(RUN_LTH, TINY + ["--use_cpu", "--fsdp", "--output_dir", str(out), "--lth_rounds", "0"], cli_env())
    assert proc.returncode != 0, "--fsdp was ignored"
    assert "accelerate did not enable FSDP" in proc.stderr
    assert not out.exists() or not any(out.glob("round_*"))


@pytest.mark.parametrize("method, flags", [("gmp", ["--lth_gmp_frequency", "2"]),
                                           ("early_bird", ["--lth_eb_interval", "2"])])
def test_gmp_and_early_bird_give_the_masks_and_records_of_one_process(tmp_path, method, flags):
    """GMP prunes inside training and early-bird draws masks as it trains: both read the full weights under FSDP2."""
    experiment = (TINY + MODEL + ["--num_train_epochs", "2", "--seed", "5", "--lth_method", method,
                                  "--lth_target_sparsity", "0.6", "--lth_controls", "random_pruning", *flags])
    proc = torchrun(WRAPPER, experiment + ["--use_cpu", "--fsdp", "--output_dir", str(tmp_path / "fsdp")],
                    cli_env(HF_LTH_FSDP_REPORT=str(tmp_path / "report.json")))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    single = run_cli(experiment + ["--gradient_accumulation_steps", "2", "--output_dir", str(tmp_path / "single")])
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-5000:]
    fsdp, one = (json.loads((tmp_path / name / "lth_results.json").read_text()) for name in ("fsdp", "single"))
    fsdp, one = (r["rounds"] + r["controls"]["random_pruning"] for r in (fsdp, one))
    assert [(r["round"], r["control"]) for r in fsdp] == [(0, None), (1, None), (1, "random_pruning")]
    assert fsdp[1]["sparsity"] == pytest.approx(0.6, abs=1e-3)
    assert all(e["sharded"] for e in json.loads((tmp_path / "report.json").read_text())[0]["rounds"])
    for a, b in zip(fsdp, one, strict=True):
        same = set(a) - TIME_FIELDS - LOSSES - {"train_loss"}
        assert {k: a[k] for k in same} == {k: b[k] for k in same}, (a["round"], a["control"])
