"""Configuration of the recurrent text classifier (vanilla RNN, LSTM or GRU over the real tokens of a padded batch).

This file imports nothing of `hf_lth`, so that it also works as a `trust_remote_code` file.
"""

from typing import Any

from transformers import PretrainedConfig

RNN_CELLS = ("rnn", "lstm", "gru")
RNN_POOLINGS = ("last", "max", "mean")


class TextRNNConfig(PretrainedConfig):
    """Hyper-parameters of [`TextRNNForSequenceClassification`].

    Args:
        vocab_size: rows of the embedding matrix (the tokenizer's `len()`).
        embedding_dim: width of a token embedding.
        hidden_size: hidden units per direction and layer.
        num_layers: stacked recurrent layers.
        bidirectional: also read the text right to left.
        dropout: dropout between stacked layers and on the final hidden state, before the classifier.
        cell: `"rnn"` (tanh), `"lstm"` or `"gru"`.
        pooling: what the classifier reads: `"last"`, the final hidden state(s) of the last layer (the seed's
            models); `"max"` or `"mean"`, the last layer's outputs pooled over the real tokens, which gives every
            position a short gradient path (what a vanilla RNN needs on long texts).
        pad_token_id: id whose embedding row is zero.
        kwargs: standard `PretrainedConfig` arguments (`num_labels`, `id2label`, `label2id`, `problem_type`, ...).
    """

    model_type = "text_rnn"

    def __init__(
        self,
        vocab_size: int = 25000,
        embedding_dim: int = 100,
        hidden_size: int = 256,
        num_layers: int = 2,
        bidirectional: bool = True,
        dropout: float = 0.5,
        cell: str = "lstm",
        pooling: str = "last",
        pad_token_id: int = 0,
        **kwargs: Any,
    ):
        if cell not in RNN_CELLS:
            raise ValueError(f"cell must be one of {', '.join(RNN_CELLS)}, got {cell!r}")
        if pooling not in RNN_POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(RNN_POOLINGS)}, got {pooling!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.cell = cell
        self.pooling = pooling
        super().__init__(pad_token_id=pad_token_id, **kwargs)


__all__ = ["TextRNNConfig"]
