"""The time-to-ticket report on fabricated records: costs summed from the records (IMP pays its trunk, GMP does
not; evaluation and controls count in the total), verdicts read validation even where test disagrees, and lines
still running are named."""

import json

import pytest

from hf_lth.study.spec import Line, ReportSpec, Study
from hf_lth.study.time_to_ticket import study_rates, ticket_cost, time_to_ticket, time_to_ticket_table
from hf_lth.study.records import load_lines


def _round(index, val, test, steps=10, seconds=5.0, method=None, **extra):
    return {"round": index, "sparsity": 0.5 * index / (index or 1) if index else 0.0, "eval_accuracy": val,
            "test_accuracy": test, "eval_majority_share": 0.5, "eval_f1": val, "train_steps": steps,
            "train_time_s": seconds, "eval_time_s": 1.0, "method": method, **extra}


def _write(folder, rounds, controls=None, branch=None):
    folder.mkdir(parents=True, exist_ok=True)
    results = {"selection_metric": "eval_accuracy", "branch": branch, "rounds": rounds, "controls": controls or {}}
    (folder / "lth_results.json").write_text(json.dumps(results))


def _study(tmp_path, seeds=(1, 2, 3), gmp_seeds=(1, 2)):
    dense_val = {1: 0.80, 2: 0.81, 3: 0.79}
    for seed in seeds:
        root = tmp_path / f"s{seed}"
        control = _round(2, 0.70, 0.70, seconds=4.0)
        _write(root, [_round(0, dense_val[seed], 0.80), _round(1, dense_val[seed], 0.80),
                      _round(2, dense_val[seed] - 0.001, 0.79)], {"random_pruning": [control]})
        # GMP: worse than IMP on validation in every seed, better on test.
        if seed in gmp_seeds:
            _write(root / "branches" / "gmp", [_round(1, dense_val[seed] - 0.05, 0.83, method="gmp")], branch="gmp")
    report = ReportSpec(kind="time_to_ticket", references=["main"], targets={"50%": {"main": 2, "gmp": 1}})
    return Study(name="ttt", base=tmp_path, output=str(tmp_path / "gone{seed}"), seeds=list(seeds),
                 lines=[Line("main"), Line("gmp")], results=str(tmp_path / "s{seed}"), report=report)


def test_costs_are_counted_from_the_records_and_priced_at_median_rates(tmp_path):
    study = _study(tmp_path)
    loaded = load_lines(study)
    imp = ticket_cost(loaded["main"][1], loaded["main"][1], 2)
    gmp = ticket_cost(loaded["gmp"][1], loaded["main"][1], 1)
    assert imp.steps == 30 and imp.trunk_steps == 10  # round 0 (the trunk IMP prunes) + rounds 1 and 2
    assert imp.evaluations == 3 and imp.controls == 1 and imp.control_steps == 10
    assert imp.measured_s == pytest.approx(3 * 6.0 + 5.0)  # 3 rounds of 5 s + 1 s, a control of 4 s + 1 s
    assert gmp.steps == 10 and gmp.evaluations == 1  # GMP trains from the initial weights: no trunk to pay
    # One round paused for 1000 s (scripts/quiet.sh stops the studies during benchmarks) moves no median.
    loaded["main"][2].results["rounds"][1]["train_time_s"] = 1000.0
    rates = study_rates(loaded)
    assert rates.step_s == pytest.approx(0.5) and rates.evaluation_s == pytest.approx(1.0)
    priced = rates.price(imp)
    assert priced.seconds == pytest.approx(40 * 0.5 + 4 * 1.0) and priced.controls_s == pytest.approx(6.0)


def test_verdicts_read_validation_and_missing_lines_are_named(tmp_path):
    study = _study(tmp_path)
    table, metric = time_to_ticket(study)
    imp, gmp = table["50%"]
    assert metric == "accuracy" and imp.matching["matches"] and not gmp.matching["matches"]
    versus = gmp.versus["main"]
    assert versus["test"].estimate > 0 > versus["validation"].high  # better on test, worse on validation
    assert gmp.missing == [3] and imp.missing == []
    text = time_to_ticket_table(study)
    assert "gmp round 1 (seeds 3)" in text and "Not finished yet" in text
    assert ": below |" in text  # the verdict column reads validation
    assert "No cheaper method reaches a ticket" in text
    row = next(line for line in text.splitlines() if line.startswith("| gmp (1) | 10 |"))
    assert row.split(" | ")[2] == f"{10 / 30:.2f}"  # training steps relative to IMP's


def test_a_report_block_names_existing_lines(tmp_path):
    from hf_lth.errors import LTHInputError
    from hf_lth.study import load_study

    (tmp_path / "base.json").write_text("{}")
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: {tmp_path / 'base.json'}\noutput: o{{seed}}\nseeds: [1]\nlines: {{main: {{}}}}\n"
                    "report: {kind: time_to_ticket, references: [main], targets: {'50%': {main: 2, gmp: 1}}}\n")
    with pytest.raises(LTHInputError, match=r"line\(s\) \['gmp'\] the study does not have"):
        load_study(path)
    path.write_text(path.read_text().replace(", gmp: 1", "").replace("kind: time_to_ticket", "kind: pie"))
    with pytest.raises(LTHInputError, match="report kind 'pie' is not one of"):
        load_study(path)
