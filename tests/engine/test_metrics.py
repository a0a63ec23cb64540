"""compute_metrics: accuracy and macro-F1 through the shipped evaluate scripts, offline."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from transformers import EvalPrediction

from hf_lth.engine.metrics import compute_metrics, load_metric

LABELS = np.array([0, 1, 2, 0, 1, 2, 2, 2])
PREDICTED = np.array([0, 2, 1, 0, 1, 2, 0, 2])


def _logits(predicted: np.ndarray, num_labels: int = 3) -> np.ndarray:
    logits = np.random.default_rng(0).normal(size=(len(predicted), num_labels)).astype(np.float32)
    logits[np.arange(len(predicted)), predicted] = 10.0
    return logits


def test_accuracy_and_macro_f1_match_sklearn():
    metrics = compute_metrics(EvalPrediction(predictions=_logits(PREDICTED), label_ids=LABELS))
    assert set(metrics) == {"accuracy", "f1"}
    assert metrics["accuracy"] == pytest.approx(accuracy_score(LABELS, PREDICTED)) == pytest.approx(5 / 8)
    assert metrics["f1"] == pytest.approx(f1_score(LABELS, PREDICTED, average="macro"))
    assert all(isinstance(value, float) for value in metrics.values())


def test_logits_may_be_a_tuple():
    hidden = np.zeros((len(PREDICTED), 4, 2))
    metrics = compute_metrics(EvalPrediction(predictions=(_logits(PREDICTED), hidden), label_ids=LABELS))
    assert metrics["accuracy"] == pytest.approx(5 / 8)


def test_binary_perfect_prediction():
    labels = np.array([1, 0, 1, 1])
    metrics = compute_metrics(EvalPrediction(predictions=_logits(labels, 2), label_ids=labels))
    assert metrics == {"accuracy": 1.0, "f1": 1.0}


def test_a_never_predicted_class_scores_zero_without_warning(recwarn):
    labels = np.array([0, 1, 0, 1])
    metrics = compute_metrics(EvalPrediction(predictions=_logits(np.zeros(4, dtype=int), 2), label_ids=labels))
    expected = f1_score(labels, [0] * 4, average="macro", zero_division=0)
    assert metrics["accuracy"] == 0.5 and metrics["f1"] == pytest.approx(expected)
    assert not [w for w in recwarn if "ill-defined" in str(w.message)]


def test_metric_modules_are_loaded_once():
    assert load_metric("accuracy") is load_metric("accuracy")
    assert load_metric("f1") is not load_metric("accuracy")
    with pytest.raises(FileNotFoundError, match="no metric script"):
        load_metric("bleu")
