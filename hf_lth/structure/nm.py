"""`N:M` granularity: in every group of M consecutive weights along a tensor's input dimension, N survive.

A group is M consecutive weights of one output row (a linear weight's row; a convolution's kernel flattened over
channels and width, as im2col lays it out). Each round keeps, in every group, the `round(k * (1 - rate))` largest
of its k survivors, never fewer than N; 2:4 (what GPU sparse tensor cores run) thus takes two rounds at the default
20% rate (4 -> 3 -> 2) and stays there. Masks stay nested. `random` draws the survivors at random in each group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from .base import Granularity, register_granularity

_NM = re.compile(r"^(\d+):(\d+)$")


# The strategies N:M pruning supports, each a score per weight in its groups (the lowest go first): by magnitude,
# global and layer-wise are the same here (every group keeps the same count); `random` draws the survivors.
_GROUP_SCORES = {
    "global_magnitude": lambda granularity, weights, name, alive, seed, index: granularity.magnitudes(weights[name]),
    "layerwise_magnitude": lambda granularity, weights, name, alive, seed, index: granularity.magnitudes(weights[name]),
    "random": lambda granularity, weights, name, alive, seed, index: _random_scores(alive.shape, seed, index),
}


@register_granularity
class NMGranularity(Granularity):
    """Keeps N of every M consecutive weights (per output row) of each prunable tensor."""

    name = "N:M"
    spec = "N:M with 0 < N < M (e.g. 2:4)"
    strategies = tuple(_GROUP_SCORES)

    def __init__(self, n: int, m: int):
        if not 0 < n < m:
            raise LTHInputError(f"lth_granularity N:M needs 0 < N < M, got {n}:{m}.")
        self.n, self.m = n, m

    @classmethod
    def from_spec(cls, spec: str) -> NMGranularity | None:
        match = _NM.match(spec)
        if match is None or not 0 < int(match[1]) < int(match[2]):
            return None
        return cls(int(match[1]), int(match[2]))

    @property
    def max_sparsity(self) -> float:
        return 1.0 - self.n / self.m

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"

    def prunable_names(self, model: torch.nn.Module, scope: list[str]) -> list[str]:
        """`scope`, after checking every tensor splits into groups of M (a clear error naming those that do not)."""
        shapes = {name: param.shape for name, param in model.named_parameters()}
        bad = [f"{name} {tuple(shapes[name])}" for name in scope
               if len(shapes[name]) < 2 or (shapes[name].numel() // shapes[name][0]) % self.m]
        if bad:
            raise LTHInputError(
                f"lth_granularity {self} groups M={self.m} consecutive weights of each output row, but these "
                f"prunable tensors are 1-D or have rows whose length is not a multiple of {self.m}: {bad[:5]}. Leave "
                "them out with lth_prune_scope (e.g. '...,!name')."
            )
        return scope

    def groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` as (groups, M) (a view where it can be)."""
        return tensor.reshape(-1, self.m)

    def magnitudes(self, weight: torch.Tensor) -> torch.Tensor:
        """|w| as (groups, M), a copy on the CPU."""
        return self.groups(weight.detach().cpu().float().abs()).clone()

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        """Keep `max(N, round(k * (1 - fraction)))` of the k survivors of every group."""
        score = _GROUP_SCORES[self.check_strategy(strategy)]
        new = {}
        for index, (name, m) in enumerate(mask.items()):
            alive = self.groups(m.cpu())
            kept = int(alive.sum(dim=1).max()) if alive.numel() else 0
            keep = max(self.n, min(kept, int(round(kept * (1.0 - fraction)))))
            scores = score(self, weights, name, alive, seed, index)
            counts = torch.full((alive.shape[0],), keep)
            new[name] = _keep_top(scores.masked_fill_(~alive, -1.0), counts).reshape(m.shape)
        return TicketMask(new)

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        """As many random survivors in every group as `mask` keeps there (the random-pruning control's mask)."""
        new = {}
        for index, (name, m) in enumerate(mask.items()):
            alive = self.groups(m.cpu())
            new[name] = _keep_top(_random_scores(alive.shape, seed, index), alive.sum(dim=1)).reshape(m.shape)
        return TicketMask(new)

    def pattern_holds(self, tensor: torch.Tensor) -> bool:
        """True when no group of M consecutive weights (per row) holds more than N nonzeros."""
        return bool((self.groups(tensor.detach().cpu() != 0).sum(dim=1) <= self.n).all())


def _keep_top(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """In each row of `scores`, True at the `counts[row]` largest (ties: the later position survives, as the earlier
    one is pruned first under unstructured pruning)."""
    order = torch.argsort(scores, dim=1, stable=True)  # ascending; the kept ones are at the end
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(scores.shape[1]).expand_as(order).contiguous())
    return rank >= (scores.shape[1] - counts)[:, None]


def _random_scores(shape: torch.Size, seed: int, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return torch.rand(shape, generator=generator)
