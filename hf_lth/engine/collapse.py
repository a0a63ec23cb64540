"""Collapsed rounds: a model whose predictions are (nearly) all one class has failed to train, whatever its
accuracy says (on an imbalanced set, predicting the majority class scores its share).

A round is marked `collapsed` when the share of its validation predictions that fall in the most predicted
class reaches `--lth_collapse_threshold` (default 0.95; 1.0 marks only all-one-class). A collapsed round is
never chosen as the best ticket, and tables, plots and headline figures flag it.
"""

from __future__ import annotations

import numpy as np


def majority_share(predictions) -> float | None:
    """The share of examples predicted as the most predicted class, from logits (or a tuple led by logits)."""
    if isinstance(predictions, (tuple, list)):
        predictions = predictions[0]
    logits = np.asarray(predictions)
    if logits.ndim < 2 or logits.shape[0] == 0:
        return None
    classes = logits.reshape(logits.shape[0], -1).argmax(axis=-1)
    return float(np.bincount(classes).max() / classes.size)


def is_collapsed(record: dict, threshold: float) -> bool:
    share = record.get("eval_majority_share")
    return share is not None and share >= threshold
