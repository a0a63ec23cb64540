"""Texts and padded batches for the custom model tests (ids: PAD=0, vocabulary of VOCAB=60)."""

import pytest
import torch

PAD = 0
VOCAB = 60


@pytest.fixture
def texts() -> list[torch.Tensor]:
    """Token ids of texts with different lengths, from 1 token (shorter than every filter) to 9."""
    generator = torch.Generator().manual_seed(1234)
    return [torch.randint(2, VOCAB, (n,), generator=generator) for n in (1, 2, 3, 5, 9)]


def _right_pad(texts: list[torch.Tensor], extra: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """A right-padded batch (with `extra` all-padding columns beyond the longest text) and its attention mask."""
    width = max(len(t) for t in texts) + extra
    input_ids = torch.full((len(texts), width), PAD, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, text in enumerate(texts):
        input_ids[row, : len(text)] = text
        attention_mask[row, : len(text)] = 1
    return input_ids, attention_mask


def _randomize(model: torch.nn.Module, seed: int = 0) -> None:
    """Overwrite every parameter (biases and the padding row included) with noise, so that leaks show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)


@pytest.fixture
def right_pad():
    """`right_pad(texts, extra=2) -> (input_ids, attention_mask)`."""
    return _right_pad


@pytest.fixture
def randomize():
    """`randomize(model, seed=0)`: overwrite every parameter with noise."""
    return _randomize
