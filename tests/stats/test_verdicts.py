"""The written-once definitions: matching (Chen et al.), beating a control, degenerate runs."""

import pytest

from hf_lth.stats.intervals import Interval
from hf_lth.stats.verdicts import beats_control, is_degenerate, matches_dense


def test_matching_is_within_one_std_of_dense_over_seeds():
    dense = [0.80, 0.82, 0.84]  # std 0.02
    assert matches_dense([0.79, 0.81, 0.80], dense) == {"matches": True, "matches_or_exceeds": False,
                                                        "gap": pytest.approx(-0.02), "tolerance": pytest.approx(0.02)}
    assert not matches_dense([0.77, 0.79, 0.80], dense)["matches"]
    assert matches_dense([0.83, 0.82, 0.84], dense)["matches_or_exceeds"]
    assert matches_dense([0.79], [0.80], dense_example_se=0.015)["matches"]
    with pytest.raises(ValueError, match="one seed"):
        matches_dense([0.79], [0.80])


def test_beating_a_control_needs_the_whole_interval_above_zero():
    assert beats_control(Interval(0.02, 0.001, 0.04))
    assert not beats_control(Interval(0.02, -0.001, 0.04))


def test_degenerate_runs_by_majority_share_or_chance_f1():
    assert is_degenerate({"eval_majority_share": 0.89, "eval_f1": 0.70}, 2)
    assert is_degenerate({"eval_majority_share": 0.50, "eval_f1": 0.24}, 5)
    assert not is_degenerate({"eval_majority_share": 0.55, "eval_f1": 0.80}, 2)
