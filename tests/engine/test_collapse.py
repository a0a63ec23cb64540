"""Collapsed rounds are detected, flagged and never chosen."""

import numpy as np
import pytest
import torch

from hf_lth.engine.collapse import is_collapsed, majority_share
from hf_lth.storage.folder import select_best_round

from helpers.tiny import make_trainer, separable_tokens, tiny_bert


def test_majority_share_of_logits():
    logits = np.array([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])
    assert majority_share(logits) == 0.75
    assert majority_share((logits, None)) == 0.75
    assert is_collapsed({"eval_majority_share": 0.96}, 0.95) and not is_collapsed({"eval_majority_share": 0.9}, 0.95)
    assert not is_collapsed({}, 0.95)


def test_a_collapsed_round_is_never_the_best():
    rounds = [{"round": 0, "sparsity": 0.0, "eval_accuracy": 0.7},
              {"round": 1, "sparsity": 0.2, "eval_accuracy": 0.6},
              {"round": 2, "sparsity": 0.36, "eval_accuracy": 0.75, "collapsed": True}]
    assert select_best_round(rounds, "eval_accuracy") == 1


@pytest.mark.slow
def test_rounds_record_their_prediction_share_and_collapse(tmp_path):
    """A model stuck on one class (its head's bias far apart, learning rate 0) predicts it for all inputs: its
    rounds are marked collapsed, and no best ticket is named (failed before: such rounds counted as results)."""
    data = separable_tokens()
    stuck = tiny_bert()
    with torch.no_grad():
        stuck.classifier.bias.copy_(torch.tensor([0.0, 100.0]))
    results = make_trainer(tmp_path, data, model=stuck, lth_rounds=1, num_train_epochs=1, learning_rate=0.0).find_tickets()
    for record in results["rounds"]:
        assert record["eval_majority_share"] == pytest.approx(1.0) and record["collapsed"]
        assert record["test_majority_share"] == pytest.approx(1.0)
    assert results["best_round"] is None
    trained = make_trainer(tmp_path, data, name="trained", lth_rounds=1, num_train_epochs=1).find_tickets()
    assert not any(r["collapsed"] for r in trained["rounds"]) and trained["best_round"] == 1
