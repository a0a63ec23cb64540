"""`hf-lth-study report` on synthetic published seeds: intervals over seeds and examples, the verdicts read
validation, Holm runs over the table's comparisons, degenerate runs are left out and counted."""

import json

import numpy as np
import pytest

from hf_lth.storage.predictions import SplitPredictions, save_predictions
from hf_lth.study.report import study_cells, study_table
from hf_lth.study.spec import Line, Study


def _publish(root, seed, shares, control_shares, rng):
    """One seed's published main line: rounds 0-2 with the given (val, test) shares right, a control at round 2."""
    labels = {split: rng.integers(0, 2, 3000) for split in ("eval", "test")}

    def save(name, val_share, test_share):
        splits = {}
        for split, share in (("eval", val_share), ("test", test_share)):
            right = rng.random(labels[split].size) < share
            predicted = np.where(right, labels[split], 1 - labels[split])
            splits[split] = SplitPredictions(np.eye(2)[predicted].astype(np.float32), labels[split])
        (root / "predictions").mkdir(parents=True, exist_ok=True)
        save_predictions(root / "predictions" / f"{name}.safetensors", splits)
        return {"eval_accuracy": val_share, "test_accuracy": test_share, "eval_majority_share": 0.5, "eval_f1": 0.8}

    rounds = [{"round": i, "sparsity": 1 - 0.8 ** i, **save(f"round_{i:02d}", *shares[i])} for i in range(3)]
    control = {"round": 2, "sparsity": 0.36, **save("random_pruning_round_02", *control_shares)}
    if control_shares[0] < 0.5:
        control["eval_majority_share"] = 0.9
    results = {"best_round": 1, "selection_metric": "eval_accuracy", "branch": None, "rounds": rounds,
               "controls": {"random_pruning": [control]}}
    (root / "lth_results.json").write_text(json.dumps(results))


def _base(folder, **settings):
    """The study's base config: 2 rounds, random pruning at round 2 (as `_publish` writes them)."""
    path = folder / "base.json"
    path.write_text(json.dumps({"lth_rounds": 2, "lth_controls": "random_pruning", "lth_control_rounds": "2",
                                **settings}))
    return path


def test_a_study_table_over_published_seeds(tmp_path):
    rng = np.random.default_rng(0)
    for seed in (1, 2, 3, 4):
        control = (0.45, 0.45) if seed == 4 else (0.70, 0.70)  # seed 4's control is degenerate
        _publish(tmp_path / f"s{seed}", seed, [(0.80, 0.80), (0.80, 0.79), (0.78, 0.78)], control, rng)
    study = Study(name="toy", base=_base(tmp_path), output=str(tmp_path / "none{seed}"), seeds=[1, 2, 3, 4],
                  lines=[Line("main")], results=str(tmp_path / "s{seed}"))
    cells, metric, finished = study_cells(study)
    assert metric == "accuracy" and finished == {"main": 4} and [c.round for c in cells] == [0, 1, 2]
    dense, _, last = cells
    assert dense.test.low < 0.80 < dense.test.high and dense.test.high - dense.test.low < 0.06
    entry = last.controls["random_pruning"]
    assert entry["seeds"] == 3 and entry["degenerate"] == [4]
    assert entry["validation"].above_zero and entry["test"].estimate == pytest.approx(0.08, abs=0.02)
    assert entry["holm_p"] >= entry["test"].p_value
    assert cells[1].matching["matches"] and not last.matching["matches"]  # 0.78 is 2 points below 0.80
    text = study_table(study)
    assert "| main | 2 | 36.0 | 4 |" in text and "1 degenerate left out" in text and "beats on val" in text


def test_a_seed_is_finished_only_with_every_planned_round_and_control(tmp_path):
    rng = np.random.default_rng(1)
    for seed in (1, 2):
        _publish(tmp_path / f"s{seed}", seed, [(0.80, 0.80), (0.80, 0.79), (0.78, 0.78)], (0.70, 0.70), rng)
    study = Study(name="toy", base=_base(tmp_path, lth_controls="random_pruning,random_reinit"),
                  output=str(tmp_path / "none{seed}"), seeds=[1, 2], lines=[Line("main")],
                  results=str(tmp_path / "s{seed}"))
    assert study_cells(study)[2] == {"main": 0}  # random_reinit is planned at round 2 and has not run
    text = study_table(study)
    assert "finished each line (every planned round and control): main 0" in text and "main (seeds 1, 2)" in text
    study.base = _base(tmp_path, lth_rounds=3)
    assert study_cells(study)[2] == {"main": 0}  # round 3 is planned and missing
    study.base = _base(tmp_path)
    assert study_cells(study)[2] == {"main": 2} and "Not finished yet" not in study_table(study)
