"""Intervals over examples and seeds, paired differences with McNemar, Holm: checked against known answers."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from hf_lth.stats.intervals import example_interval, holm, macro_f1, paired_difference, seed_interval


def _runs(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    better = np.where(rng.random(n) < 0.80, labels, rng.integers(0, 3, n))
    worse = np.where(rng.random(n) < 0.70, labels, rng.integers(0, 3, n))
    return labels, better, worse


def test_macro_f1_is_sklearns_also_in_batches():
    labels, better, worse = _runs()
    assert macro_f1(better, labels) == pytest.approx(f1_score(labels, better, average="macro"))
    batch = macro_f1(np.stack([better, worse]), labels)
    assert batch == pytest.approx([f1_score(labels, p, average="macro") for p in (better, worse)])
    assert macro_f1(np.array([0, 0, 1]), np.array([0, 0, 0])) == pytest.approx(0.4)  # a class never in the labels


def test_example_interval_covers_the_estimate_with_the_binomial_width():
    labels, better, _ = _runs()
    interval = example_interval(better, labels)
    accuracy = np.mean(better == labels)
    assert interval.estimate == pytest.approx(accuracy)
    se = np.sqrt(accuracy * (1 - accuracy) / labels.size)
    assert interval.high - interval.low == pytest.approx(2 * 1.96 * se, rel=0.15)
    f1 = example_interval(better, labels, metric="f1")
    assert f1.low < f1.estimate < f1.high
    assert example_interval(better, labels, seed=3) == example_interval(better, labels, seed=3)  # reproducible


def test_paired_difference_finds_a_real_gap_and_not_a_null_one():
    labels, better, worse = _runs()
    gap = paired_difference(better, worse, labels)
    assert gap.above_zero and gap.p_value < 1e-6
    same = paired_difference(better, better.copy(), labels)
    assert same.estimate == 0 and same.p_value == 1.0 and not same.above_zero
    assert paired_difference(better, worse, labels, metric="f1").above_zero


def test_seed_interval_adds_the_examples_sampling_error_to_the_seeds_spread():
    rng = np.random.default_rng(1)
    scores = (rng.random((3, 2000)) < np.array([[0.80], [0.82], [0.81]])).astype(float)
    both, seeds_only = seed_interval(scores)
    assert both.estimate == pytest.approx(scores.mean())
    assert both.low < seeds_only.low and both.high > seeds_only.high
    one, none = seed_interval(scores[:1])
    assert none is None and one.low < scores[0].mean() < one.high


def test_holm_matches_the_step_down_rule():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []
