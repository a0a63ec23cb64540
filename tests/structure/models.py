"""Tiny models of every family that channel pruning knows, for the structure tests."""

from __future__ import annotations

import torch

from hf_lth.models import (
    TextCNNConfig,
    TextCNNForSequenceClassification,
    TextRNNConfig,
    TextRNNForSequenceClassification,
)
from helpers.tiny import tiny_bert


def tiny_cnn(seed: int = 0) -> TextCNNForSequenceClassification:
    torch.manual_seed(seed)
    return TextCNNForSequenceClassification(TextCNNConfig(vocab_size=50, embedding_dim=8, num_filters=6,
                                                          filter_sizes=[2, 3], num_labels=3))


def tiny_rnn(seed: int = 0, cell: str = "lstm", bidirectional: bool = True, num_layers: int = 2,
             pooling: str = "max") -> TextRNNForSequenceClassification:
    torch.manual_seed(seed)
    return TextRNNForSequenceClassification(TextRNNConfig(vocab_size=50, embedding_dim=8, hidden_size=6,
                                                          num_layers=num_layers, bidirectional=bidirectional,
                                                          cell=cell, pooling=pooling, num_labels=3))


MODELS = {"cnn": tiny_cnn, "lstm": tiny_rnn, "gru": lambda seed=0: tiny_rnn(seed, "gru", False, 1, "last"),
          "bert": lambda seed=0: tiny_bert(seed, intermediate_size=8)}
