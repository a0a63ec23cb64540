"""The definitions every report and study uses, written once. All criteria read validation; test is reported.

- **matches dense** (Chen et al. 2020, Table 2): the ticket's mean validation score over seeds is within one
  standard deviation (over seeds) of dense's: `mean(ticket) >= mean(dense) - std(dense)`. **Matches or exceeds**
  (their supplementary Table 4): `mean(ticket) >= mean(dense)`. With one seed there is no standard deviation over
  seeds: the dense run's standard error over validation examples stands in for it (a difference from Chen et al.).
- **beats a control**: the 95% interval of the paired difference (ticket − control, same seeds and examples, see
  `seed_interval`) lies above zero.
- **degenerate**: a run whose validation predictions fall in one class at least `MAJORITY_LIMIT` (0.85) of the
  time, or whose validation macro-F1 is below chance plus `F1_MARGIN` (1/classes + 0.05). A degenerate run is
  flagged and never quoted as a result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .intervals import Interval

MAJORITY_LIMIT = 0.85
F1_MARGIN = 0.05


def matches_dense(ticket: list[float], dense: list[float], dense_example_se: float | None = None) -> dict[str, Any]:
    """Chen et al.'s matching criteria on validation scores (one per seed, paired by seed).

    Args:
        ticket: the ticket's validation score per seed.
        dense: dense's validation score per seed.
        dense_example_se: with one seed, dense's standard error over validation examples (stands in for the std).

    Returns:
        `{"matches": bool, "matches_or_exceeds": bool, "gap": mean(ticket) - mean(dense), "tolerance": the std}`.
    """
    if len(dense) > 1:
        tolerance = float(np.std(dense, ddof=1))
    elif dense_example_se is not None:
        tolerance = float(dense_example_se)
    else:
        raise ValueError("one seed: give dense_example_se (dense's standard error over validation examples).")
    gap = float(np.mean(ticket) - np.mean(dense))
    return {"matches": gap >= -tolerance, "matches_or_exceeds": gap >= 0, "gap": gap, "tolerance": tolerance}


def beats_control(difference: Interval) -> bool:
    """True when the paired interval of ticket − control lies above zero."""
    return difference.above_zero


def is_degenerate(record: dict[str, Any], num_classes: int) -> bool:
    """True for a run that learned (nearly) nothing on validation: see the module docstring.

    Args:
        record: a round's record (its `eval_majority_share` and `eval_f1`).
        num_classes: the number of classes.
    """
    share = record.get("eval_majority_share")
    f1 = record.get("eval_f1")
    return bool((share is not None and share >= MAJORITY_LIMIT) or
                (f1 is not None and f1 < 1.0 / num_classes + F1_MARGIN))
