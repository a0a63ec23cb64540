"""benchmarks/bench_inference.py's summary of several processes: medians of process medians and their range, ratios
taken per turn, never the best run. No timing is asserted: the times below are made up."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    path = REPO_ROOT / "benchmarks" / "bench_inference.py"
    spec = importlib.util.spec_from_file_location("bench_inference_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(dense_seconds, ticket_seconds, latency=(0.001, 0.002, 0.003)):
    """One process: per turn, the call times of dense and of the half-filter ticket (batch 2)."""
    def timing(turns):
        return {"batch": [[s, s, 10 * s] for s in turns], "one": [list(latency)] * len(turns),
                "batch_page_faults": [0] * len(turns)}
    return {"facts_at_start": {"load_average": [0.5, 0.5, 0.5]}, "models": {"cnn": {
        "batch_size": 2, "multiply_adds": {"dense": 4.0, "shrunk50": 2.0},
        "variants": {"dense": {"label": "dense", "source": "dense", "note": ""},
                     "shrunk50": {"label": "half", "source": "shrunk50", "note": ""}},
        "seconds_per_call": {"dense": timing(dense_seconds), "shrunk50": timing(ticket_seconds)}}}}


def test_the_summary_is_the_median_of_process_medians_with_their_range(bench):
    runs = [run([1.0, 1.0, 1.0], [0.5, 0.5, 0.5]),  # ratio 2 in every turn
            run([1.0, 2.0, 1.0], [1.0, 1.0, 1.0]),  # ratios 1, 2, 1: median 1
            run([1.0, 1.0, 1.0], [0.25, 0.4, 0.25])]  # ratios 4, 2.5, 4: median 4 (the best process, not reported)
    summary = bench.summarise("cnn", runs)
    ratio = summary["shrunk50"]["figures"]["ratio_to_dense"]
    assert ratio["per_process"] == [2.0, 1.0, 4.0]
    assert (ratio["median"], ratio["min"], ratio["max"]) == (2.0, 1.0, 4.0)
    throughput = summary["dense"]["figures"]["examples_per_second"]  # 2 examples / median call of a turn
    assert throughput["per_process"] == [2.0, 2.0, 2.0]
    assert summary["shrunk50"]["ideal"] == 2.0
    latency = summary["dense"]["figures"]
    assert latency["latency_ms_median"]["median"] == pytest.approx(2.0)
    assert latency["latency_ms_p90"]["median"] == pytest.approx(2.8)
    rows = {row.figure: row for row in bench.rows_of("cnn", summary, quick=False)}
    half = rows["cnn: half, batch 64"]
    assert half.met is True and half.target == ">= 1.8x and >= 0.9 of ideal"
    assert "1.00-4.00 over processes" in half.note
    meta = {"command": "c", "processes": 3, "threads": 2, "pin": "cores", "turns": 3,
            "machine": {"cpu": "x", "cores": 2, "torch": "t"}, "load_before": [0.5] * 3}
    text = bench.markdown({"cnn": summary}, meta)
    assert "| half | 4 (2–8) | 2.00x (1.00–4.00) |" in text


def test_the_driver_refuses_nonsense_counts(bench):
    with pytest.raises(SystemExit):
        bench.main(["--processes", "0"])
