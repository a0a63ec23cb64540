"""Intervals for lottery-ticket results, from scipy.stats and statsmodels, over test examples and over seeds.

- one run: its accuracy (or macro-F1) with a 95% percentile-bootstrap interval over the split's examples
  (`scipy.stats.bootstrap`);
- two runs of one seed (a ticket and its control, the same examples): the paired-bootstrap interval of the
  difference and the exact McNemar p-value (`statsmodels`' `mcnemar`);
- several seeds: the mean with its t-interval over seeds (`scipy.stats.t`), and a wider interval that also
  carries the split's sampling error: mean ± t(n−1) · sqrt(s²/n + SE²), where s is the standard deviation over
  seeds and SE the standard error over examples of the seed-averaged per-example score (the examples are shared by
  every seed, so their sampling error does not average out over seeds). With one seed it is the example bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval.

    Args:
        estimate: the point estimate (a share: 0.8 is 80%).
        low: the interval's lower end.
        high: the interval's upper end.
        p_value: the test's p-value where one applies (McNemar for paired runs), else None.
        method: how the interval was made.
    """

    estimate: float
    low: float
    high: float
    p_value: float | None = None
    method: str = ""

    @property
    def above_zero(self) -> bool:
        """True when the whole interval lies above zero."""
        return self.low > 0

    def format(self, scale: float = 100.0, digits: int = 2, signed: bool = False) -> str:
        """`74.27 [73.10, 75.41]` (in points with the default `scale`)."""
        sign = "+" if signed else ""
        return (f"{self.estimate * scale:{sign}.{digits}f} [{self.low * scale:{sign}.{digits}f}, "
                f"{self.high * scale:{sign}.{digits}f}]")


def macro_f1(predicted: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> np.ndarray | float:
    """Macro-averaged F1 over the classes that occur in `labels` or `predicted` (sklearn's definition), along the
    last axis (a float for 1-d inputs, one value per row for batches of resamples)."""
    predicted, labels = np.asarray(predicted, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    k = num_classes or int(max(predicted.max(initial=0), labels.max(initial=0))) + 1
    rows = predicted.reshape(-1, predicted.shape[-1])
    gold = np.broadcast_to(labels, predicted.shape).reshape(rows.shape)
    offsets = np.arange(rows.shape[0])[:, None] * k * k
    confusion = np.bincount((offsets + gold * k + rows).ravel(), minlength=rows.shape[0] * k * k)
    confusion = confusion.reshape(-1, k, k).astype(float)
    true_positive = np.diagonal(confusion, axis1=1, axis2=2)
    totals = confusion.sum(2) + confusion.sum(1)  # support + predicted count, per class
    present = totals > 0
    f1 = np.divide(2 * true_positive, totals, out=np.zeros_like(totals), where=present)
    result = (f1 * present).sum(1) / present.sum(1)
    return float(result[0]) if predicted.ndim == 1 else result.reshape(predicted.shape[:-1])


def _bootstrap(data: tuple[np.ndarray, ...], statistic, paired: bool, vectorized: bool, n_resamples: int,
               seed: int) -> Any:  # scipy's BootstrapResult
    return stats.bootstrap(data, statistic, paired=paired, vectorized=vectorized, n_resamples=n_resamples,
                           confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(seed))


def example_interval(predicted: np.ndarray, labels: np.ndarray, metric: str = "accuracy", n_resamples: int = 2000,
                     seed: int = 0) -> Interval:
    """One run's `metric` on a split with its 95% bootstrap interval over the split's examples.

    Args:
        predicted: the predicted class of each example.
        labels: the gold class of each example.
        metric: `accuracy` or `f1` (macro).
        n_resamples: bootstrap resamples.
        seed: the resampling seed (the interval is reproducible).

    Returns:
        The `Interval`.
    """
    if metric == "accuracy":
        correct = (predicted == labels).astype(float)
        estimate = float(correct.mean())
        result = _bootstrap((correct,), np.mean, paired=False, vectorized=True, n_resamples=n_resamples, seed=seed)
    else:
        k = int(max(predicted.max(), labels.max())) + 1
        estimate = macro_f1(predicted, labels, k)
        result = _bootstrap((predicted, labels), lambda p, y, axis=-1: macro_f1(p, y, k), paired=True,
                            vectorized=True, n_resamples=n_resamples, seed=seed)
    ci = result.confidence_interval
    return Interval(estimate, float(ci.low), float(ci.high), method=f"percentile bootstrap over {labels.size} examples")


def paired_difference(predicted_a: np.ndarray, predicted_b: np.ndarray, labels: np.ndarray, metric: str = "accuracy",
                      n_resamples: int = 2000, seed: int = 0) -> Interval:
    """`metric` of run A minus run B on the same examples: paired-bootstrap 95% interval, exact McNemar p-value.

    Args:
        predicted_a: run A's predicted classes.
        predicted_b: run B's predicted classes, for the same examples.
        labels: the gold classes.
        metric: `accuracy` or `f1` (macro).
        n_resamples: bootstrap resamples.
        seed: the resampling seed.

    Returns:
        The `Interval` of A − B, with McNemar's exact p-value (of the correct/incorrect disagreements).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    right_a, right_b = predicted_a == labels, predicted_b == labels
    table = [[int(np.sum(right_a & right_b)), int(np.sum(right_a & ~right_b))],
             [int(np.sum(~right_a & right_b)), int(np.sum(~right_a & ~right_b))]]
    p_value = float(mcnemar(table, exact=True).pvalue)
    if metric == "accuracy":
        diff = right_a.astype(float) - right_b.astype(float)
        estimate = float(diff.mean())
        result = _bootstrap((diff,), np.mean, paired=False, vectorized=True, n_resamples=n_resamples, seed=seed)
    else:
        k = int(max(predicted_a.max(), predicted_b.max(), labels.max())) + 1
        estimate = macro_f1(predicted_a, labels, k) - macro_f1(predicted_b, labels, k)
        result = _bootstrap((predicted_a, predicted_b, labels),
                            lambda a, b, y, axis=-1: macro_f1(a, y, k) - macro_f1(b, y, k),
                            paired=True, vectorized=True, n_resamples=n_resamples, seed=seed)
    ci = result.confidence_interval
    return Interval(estimate, float(ci.low), float(ci.high), p_value=p_value,
                    method=f"paired percentile bootstrap over {labels.size} examples; exact McNemar")


def seed_interval(scores: np.ndarray) -> tuple[Interval, Interval | None]:
    """The mean over seeds of per-example scores (1/0 correct, or a paired difference of two runs' correctness).

    Args:
        scores: `(seeds, examples)`: one row per seed, the same examples in every row.

    Returns:
        (the interval that carries both the seeds' spread and the examples' sampling error, the t-interval over
        seeds alone, or None with one seed).
    """
    scores = np.asarray(scores, dtype=float)
    example_se = float(scores.mean(axis=0).std(ddof=1) / np.sqrt(scores.shape[1]))
    return combine_seeds(scores.mean(axis=1), example_se, scores.shape[1])


def combine_seeds(per_seed: Sequence[float] | np.ndarray, example_se: float,
                  n_examples: int | None = None) -> tuple[Interval, Interval | None]:
    """Mean over seeds with the interval that adds the examples' sampling error `example_se` (the standard error over
    examples of the seed-averaged score) to the seeds' spread: mean ± t(n−1) · sqrt(s²/n + example_se²).

    Args:
        per_seed: one score per seed.
        example_se: the standard error over examples of the seed-averaged score.
        n_examples: the number of examples (for the description only).

    Returns:
        (that interval, the t-interval over seeds alone or None with one seed); the first carries the p-value of
        the mean being zero (useful for differences).
    """
    per_seed = np.asarray(per_seed, dtype=float)
    n_seeds, mean = per_seed.size, float(per_seed.mean())
    examples = f"{n_examples} examples'" if n_examples else "the examples'"
    if n_seeds == 1:
        z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
        p = float(2 * stats.norm.sf(abs(mean) / example_se)) if example_se > 0 else None
        return Interval(mean, mean - z * example_se, mean + z * example_se, p_value=p,
                        method=f"1 seed; normal interval from {examples} sampling error"), None
    seed_se = float(per_seed.std(ddof=1) / np.sqrt(n_seeds))
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, df=n_seeds - 1)
    seeds_only = Interval(mean, mean - t * seed_se, mean + t * seed_se, method=f"t-interval over {n_seeds} seeds")
    total = float(np.sqrt(seed_se ** 2 + example_se ** 2))
    p = float(2 * stats.t.sf(abs(mean) / total, df=n_seeds - 1)) if total > 0 else None
    both = Interval(mean, mean - t * total, mean + t * total, p_value=p,
                    method=f"t({n_seeds - 1}) over {n_seeds} seeds with {examples} sampling error")
    return both, seeds_only


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels' `multipletests`), in the order given."""
    from statsmodels.stats.multitest import multipletests

    if not p_values:
        return []
    return [float(p) for p in multipletests(p_values, method="holm")[1]]
