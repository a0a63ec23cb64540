"""What every granularity provides, and the unstructured one (the weights pruned one by one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import torch

from ..errors import LTHInputError
from ..masks import TicketMask
from ..pruning import prune, random_mask_like

MAGNITUDE_STRATEGIES = ("global_magnitude", "layerwise_magnitude")


class Granularity(Protocol):
    """How masks are shaped: which tensors they cover, how a round prunes, and the random control's mask."""

    name: str

    def prunable_names(self, model: torch.nn.Module, scope: list[str]) -> list[str]:
        """The masked tensors, given those `lth_prune_scope` selects (an error where the shape does not fit)."""

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        """The next, nested mask: about `fraction` of the survivors removed, in this granularity's units."""

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        """A random mask of `mask`'s structure and counts."""


class Unstructured:
    """Weights pruned one by one by any registered strategy (`hf_lth.pruning`)."""

    name = "unstructured"

    def prunable_names(self, model: torch.nn.Module, scope: list[str]) -> list[str]:
        return scope

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        return prune(strategy, weights, mask, fraction, seed=seed)

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        return random_mask_like(mask, seed)


def is_random_strategy(strategy: str, granularity: str) -> bool:
    """True for `random`, False for a magnitude strategy; a structured granularity knows no other."""
    if strategy == "random":
        return True
    if strategy in MAGNITUDE_STRATEGIES:
        return False
    raise LTHInputError(f"lth_granularity {granularity} prunes by magnitude or at random: lth_strategy must be one "
                        f"of {', '.join(MAGNITUDE_STRATEGIES)}, random; got '{strategy}'.")
