"""`compute_metrics` for the Trainer: accuracy and macro-F1 through `evaluate`, offline.

The metric scripts ship with the package (`hf_lth/metric_scripts/`, copies of the evaluate Hub
metrics), so `evaluate.load` reads them from disk and never needs the Hub.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from transformers import EvalPrediction

METRIC_SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "metric_scripts"


@lru_cache(maxsize=None)
def load_metric(name: str):
    """Load a shipped metric script (`accuracy` or `f1`) with `evaluate.load`, once per process."""
    import evaluate

    script = METRIC_SCRIPTS_DIR / name / f"{name}.py"
    if not script.is_file():
        raise FileNotFoundError(f"hf_lth ships no metric script {script}")
    return evaluate.load(str(script), keep_in_memory=True)  # no cache files: nothing to lock across processes


def compute_metrics(eval_pred: EvalPrediction) -> dict[str, float]:
    """Accuracy and macro-F1 of the arg-max prediction; the logits may be a tuple (first item used).

    Args:
        eval_pred: the Trainer's predictions (logits) and label ids.

    Returns:
        `{"accuracy": ..., "f1": ...}`, as floats.
    """
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    predictions = np.asarray(logits).argmax(axis=-1).reshape(-1)
    references = np.asarray(labels).reshape(-1)
    accuracy = load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"]
    with warnings.catch_warnings():
        # A class never predicted (common at high sparsity) scores F1 = 0; no need to warn every evaluation.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        f1 = load_metric("f1").compute(predictions=predictions, references=references, average="macro")["f1"]
    return {"accuracy": float(accuracy), "f1": float(f1)}
