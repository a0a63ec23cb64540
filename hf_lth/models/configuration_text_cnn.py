"""Configuration of the Kim-style text CNN (embedding, parallel 1-d convolutions, max-over-time pooling).

This file imports nothing of `hf_lth`, so that it also works as a `trust_remote_code` file.
"""

from collections.abc import Sequence
from typing import Any

from transformers import PretrainedConfig


class TextCNNConfig(PretrainedConfig):
    """Hyper-parameters of [`TextCNNForSequenceClassification`].

    Args:
        vocab_size: rows of the embedding matrix (the tokenizer's `len()`).
        embedding_dim: width of a token embedding.
        num_filters: output channels of each convolution.
        filter_sizes: one convolution per width (in tokens); inputs shorter than the widest are padded inside.
        dropout: dropout on the pooled features, before the classifier.
        pad_token_id: id whose embedding row is zero (also used to pad inputs shorter than the widest filter).
        kwargs: standard `PretrainedConfig` arguments (`num_labels`, `id2label`, `label2id`, `problem_type`, ...).
    """

    model_type = "text_cnn"

    def __init__(
        self,
        vocab_size: int = 25000,
        embedding_dim: int = 100,
        num_filters: int = 100,
        filter_sizes: Sequence[int] = (3, 4, 5),
        dropout: float = 0.5,
        pad_token_id: int = 0,
        **kwargs: Any,
    ):
        filter_sizes = [int(k) for k in filter_sizes]
        if not filter_sizes or min(filter_sizes) < 1:
            raise ValueError(f"filter_sizes must be a non-empty list of positive widths, got {filter_sizes}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.num_filters = num_filters
        self.filter_sizes = filter_sizes
        self.dropout = dropout
        super().__init__(pad_token_id=pad_token_id, **kwargs)


__all__ = ["TextCNNConfig"]
