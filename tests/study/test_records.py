"""Records without per-example predictions (before issue 21): intervals over seeds alone, none with one seed, and
the lines report still judges on validation and compares lines round by round."""

import json

import numpy as np
import pytest
from scipy import stats

from hf_lth.study.records import Run, format_interval, over_seeds, paired
from hf_lth.study.report import study_cells, study_table
from hf_lth.study.spec import Line, ReportSpec, Study


def _run(seed, val, test):
    return Run(seed, {"round": 1, "eval_accuracy": val, "test_accuracy": test}, None, 2)


def test_without_predictions_the_interval_is_a_t_interval_over_seeds():
    tests = [0.70, 0.74, 0.72]
    interval = over_seeds([_run(s, 0.7, t) for s, t in enumerate(tests)], "test", "accuracy")
    half = stats.t.ppf(0.975, 2) * np.std(tests, ddof=1) / np.sqrt(3)
    assert interval.estimate == pytest.approx(0.72) and interval.high - interval.estimate == pytest.approx(half)
    single = over_seeds([_run(1, 0.7, 0.71)], "test", "accuracy")
    assert format_interval(single) == "71.00"  # one seed, no predictions: the value, no interval
    diff = paired([(_run(s, 0.8, 0.8), _run(s, 0.7, 0.6 + 0.01 * s)) for s in range(3)], "test", "accuracy")
    assert diff.estimate == pytest.approx(0.19) and diff.p_value == pytest.approx(
        stats.ttest_1samp([0.2, 0.19, 0.18], 0).pvalue)


def _write(folder, rounds, branch=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lth_results.json").write_text(json.dumps(
        {"selection_metric": "eval_accuracy", "branch": branch, "rounds": rounds, "controls": {}}))


def _record(index, val, test, **extra):
    return {"round": index, "sparsity": 0.2 * index, "eval_accuracy": val, "test_accuracy": test,
            "eval_majority_share": 0.5, "eval_f1": val, **extra}


def test_lines_compare_round_by_round_and_say_the_records_lack_predictions(tmp_path):
    for seed, shift in ((1, 0.0), (2, 0.01), (3, -0.01)):
        root = tmp_path / f"s{seed}"
        _write(root, [_record(0, 0.80 + shift, 0.80), _record(1, 0.80 + shift, 0.79)])
        _write(root / "branches" / "channel", [_record(1, 0.75 + shift, 0.78, units_kept={"conv filters": 80})],
               branch="channel")
    (tmp_path / "base.json").write_text(json.dumps({"lth_rounds": 1}))
    study = Study(name="toy", base=tmp_path / "base.json", output=str(tmp_path / "gone{seed}"), seeds=[1, 2, 3, 4],
                  lines=[Line("main"), Line("channel")], results=str(tmp_path / "s{seed}"),
                  report=ReportSpec(compare={"channel": "main"}))
    cells, _, finished = study_cells(study)
    channel = next(c for c in cells if c.line == "channel")
    assert finished == {"main": 3, "channel": 3} and not channel.predictions
    assert channel.compared["main"]["validation"].high < 0 and channel.units_kept == "80"
    assert not channel.matching["matches"] and cells[1].matching["matches"]
    text = study_table(study)
    assert "Not finished yet" in text and "main (seeds 4)" in text and "no per-example predictions" in text
    assert "| channel | 1 | 20.0 | 80 | 3 |" in text and "below on val" in text


def test_the_tensor_grid_averages_each_matrix_over_seeds(tmp_path):
    for seed, share in ((1, 0.5), (2, 0.7)):
        layers = {"enc.layer.1.q.weight": share, "enc.layer.0.q.weight": 0.1, "enc.layer.0.ffn.weight": 0.2,
                  "classifier.weight": 0.3}
        _write(tmp_path / f"s{seed}", [_record(0, 0.8, 0.8), _record(1, 0.8, 0.8, layer_sparsity=layers)])
    (tmp_path / "base.json").write_text(json.dumps({"lth_rounds": 1}))
    study = Study(name="toy", base=tmp_path / "base.json", output=str(tmp_path / "gone{seed}"), seeds=[1, 2],
                  lines=[Line("main")],
                  results=str(tmp_path / "s{seed}"), report=ReportSpec(tensors={"line": "main", "round": 1}))
    text = study_table(study)
    assert "| layer | q | ffn |" in text and "| 0 | 10.0 | 20.0 |" in text and "| 1 | 60.0 | – |" in text
    assert "| classifier.weight | 30.0 |" in text


def test_one_table_per_metric(tmp_path):
    for seed in (1, 2):
        _write(tmp_path / f"s{seed}", [_record(0, 0.8, 0.8, eval_f1=0.6, test_f1=0.61),
                                       _record(1, 0.8, 0.7, eval_f1=0.6, test_f1=0.5)])
    (tmp_path / "base.json").write_text(json.dumps({"lth_rounds": 1}))
    study = Study(name="toy", base=tmp_path / "base.json", output=str(tmp_path / "gone{seed}"), seeds=[1, 2],
                  lines=[Line("main")],
                  results=str(tmp_path / "s{seed}"), report=ReportSpec(metrics=["f1", "accuracy"]))
    text = study_table(study)
    assert text.index("### Macro-F1") < text.index("### Accuracy")
    assert "| main | 1 | 20.0 | 2 | 60.00 | 50.00 [50.00, 50.00] |" in text  # f1 table: the records' test_f1
    assert "| main | 1 | 20.0 | 2 | 80.00 | 70.00 [70.00, 70.00] |" in text
