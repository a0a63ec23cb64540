"""Smoke test of the benchmark suite: `benchmarks/run_all.py --quick` runs and prints every row.

No timing is asserted (the machines are shared and noisy): only that each benchmark runs at tiny sizes and reports
its figures beside their anchors.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FIGURES = {
    "step_overhead_quick": ["cnn: LTHTrainer step", "lstm: LTHTrainer step", "bert-tiny: LTHTrainer step",
                            "bert-base: LTHTrainer step", "torch.nn.utils.prune step"],
    "pruning_quick": ["hf_lth global magnitude", "peak extra memory per prunable weight"],
    "memory_quick": ["LTHTrainer round peak RSS", "TicketMask in memory", "rewind point"],
    "data_quick": ["tokenise + encode IMDb train", "WordPiece"],
    "compact_quick": ["cnn: compact ticket weights", "bert-base: compact ticket weights"],
    "inference_quick": ["cnn: shrunk channel ticket, 50% of units removed, batch 64", "lstm: dense, batch 1 latency",
                        "minilm: torch.sparse CSR, 90% unstructured, batch 64"],
}


@pytest.mark.slow
def test_run_all_quick_prints_every_figure_beside_its_anchor(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run_all.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    for stem, figures in EXPECTED_FIGURES.items():
        result = json.loads((tmp_path / f"{stem}.json").read_text())
        text = (tmp_path / f"{stem}.txt").read_text()
        for figure in figures:
            assert any(figure in row["figure"] for row in result["rows"]), (stem, figure)
            assert figure in text and figure in out.stdout, (stem, figure)
        for row in result["rows"]:
            assert row["value"] == row["value"], (stem, row)  # not NaN
    summary = (tmp_path / "summary_quick.md").read_text()
    for target in ("1. step overhead", "2. pruning step", "3. memory", "4. data", "5. tickets on disk", "6. inference of tickets"):
        assert target in summary


def test_benchmark_data_falls_back_to_the_shipped_samples(tmp_path, monkeypatch, capsys):
    """Without `../shared/data` (a fresh clone), benchmarks read the shipped samples and say so once."""
    spec = importlib.util.spec_from_file_location("bench_common", REPO_ROOT / "benchmarks" / "common.py")
    common = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_common", common)  # its dataclasses look their module up there
    spec.loader.exec_module(common)
    monkeypatch.setattr(common, "SHARED_DATA", tmp_path / "missing")
    paths = [common.data_file("imdb", "train"), common.data_file("imdb", "test"), common.data_file("yelp5", "train")]
    assert paths == [REPO_ROOT / "hf_lth" / "sample_data" / name
                     for name in ("imdb_train.parquet", "imdb_test.parquet", "yelp5_train.parquet")]
    assert all(path.is_file() for path in paths)
    notices = capsys.readouterr().err.splitlines()
    assert len(notices) == 2 and "missing" in notices[0] and "imdb sample" in notices[0], notices


def test_quick_benchmarks_read_the_shipped_samples_even_beside_full_data(tmp_path, monkeypatch, capsys):
    """`--quick` (what the smoke test above runs) reads the samples, so no test depends on `../shared`."""
    spec = importlib.util.spec_from_file_location("bench_common", REPO_ROOT / "benchmarks" / "common.py")
    common = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_common", common)
    spec.loader.exec_module(common)
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "train.parquet").write_bytes(b"full-size stand-in")
    monkeypatch.setattr(common, "SHARED_DATA", tmp_path)
    assert common.data_file("imdb", "train") == tmp_path / "imdb" / "train.parquet"
    assert common.data_file("imdb", "train", sample=True) == REPO_ROOT / "hf_lth" / "sample_data" / "imdb_train.parquet"
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_the_2_of_4_gpu_benchmark_says_it_has_nothing_to_measure_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the benchmark measures instead (run it by hand)")
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "bench_semi_structured_gpu.py")],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("skipped: no CUDA GPU")


@pytest.mark.slow
def test_the_rnn_step_benchmark_compares_the_packed_and_the_padded_recurrence(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_rnn_step.py"), "--processes", "1", "--steps", "1",
         "--cells", "lstm", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    result = json.loads((tmp_path / "rnn_step.json").read_text())
    (row,) = result["rows"]
    assert row["figure"].startswith("lstm: training step, padded batch") and row["anchor"].startswith("packed")
    assert len(result["raw"]["lstm packed"]) == len(result["raw"]["lstm padded"]) == 1
    assert row["value"] > 0 and row["anchor_value"] > 0 and "speed-up" in row["note"]
