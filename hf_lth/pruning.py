"""Pruning strategies (global magnitude, layer-wise magnitude, random) behind one registry.

A strategy takes the current weights, the current mask and the fraction of *surviving* weights to remove,
and returns the next, nested mask. Counts are exact: `round(fraction * survivors)` weights go, globally or
per layer. Ties are broken deterministically, as a stable sort over the survivors in parameter order would:
among equal scores the weight that comes first (by parameter, then flat index) is pruned first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from .errors import LTHInputError
from .masks import TicketMask

PruningStrategy = Callable[[Mapping[str, torch.Tensor], TicketMask, float, int], TicketMask]
PRUNING_STRATEGIES: dict[str, PruningStrategy] = {}

_PRUNED_KEY = torch.iinfo(torch.int32).max  # larger than the key of any finite score


def register_strategy(name: str) -> Callable[[PruningStrategy], PruningStrategy]:
    def decorator(fn: PruningStrategy) -> PruningStrategy:
        PRUNING_STRATEGIES[name] = fn
        return fn

    return decorator


def prune(
    strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Remove `fraction` of the weights that `mask` keeps, by `strategy`; returns a new nested mask."""
    if strategy not in PRUNING_STRATEGIES:
        raise LTHInputError(f"unknown pruning strategy '{strategy}'; choose one of {sorted(PRUNING_STRATEGIES)}.")
    if not 0.0 <= fraction <= 1.0:
        raise LTHInputError(f"the fraction to prune must be in [0, 1], got {fraction}.")
    return PRUNING_STRATEGIES[strategy](weights, mask, fraction, seed)


def num_to_prune(fraction: float, survivors: int) -> int:
    return min(survivors, int(round(fraction * survivors)))


@register_strategy("global_magnitude")
def global_magnitude(weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0) -> TicketMask:
    """Prune the smallest-magnitude surviving weights across all prunable tensors together."""
    keys = {name: magnitude_keys(weights[name], mask[name]) for name in mask}
    return _prune_smallest(keys, mask, num_to_prune(fraction, mask.num_kept()))


@register_strategy("layerwise_magnitude")
def layerwise_magnitude(
    weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Prune the same fraction of survivors in every tensor, by magnitude within the tensor."""
    new = {}
    for name in mask:
        keys = {name: magnitude_keys(weights[name], mask[name])}
        sub = TicketMask({name: mask[name]})
        new[name] = _prune_smallest(keys, sub, num_to_prune(fraction, int(mask[name].sum())))[name]
    return TicketMask(new)


@register_strategy("random")
def random_global(weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0) -> TicketMask:
    """Prune uniformly random surviving weights across all tensors (seeded, device-independent)."""
    generator = torch.Generator().manual_seed(seed)
    keys = {name: random_keys(mask[name], generator) for name in mask}
    return _prune_smallest(keys, mask, num_to_prune(fraction, mask.num_kept()))


def random_mask_like(mask: TicketMask, seed: int) -> TicketMask:
    """A random mask keeping exactly as many weights per tensor as `mask` does (the random-pruning control)."""
    generator = torch.Generator().manual_seed(seed)
    dense = TicketMask({name: torch.ones_like(m) for name, m in mask.items()})
    new = {}
    for name, m in mask.items():
        keys = {name: random_keys(dense[name], generator)}
        new[name] = _prune_smallest(keys, TicketMask({name: dense[name]}), m.numel() - int(m.sum()))[name]
    return TicketMask(new)


def magnitude_keys(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """int32 keys ordered as |weight| (the bits of a non-negative float32 sort like the float); pruned -> max."""
    keys = weight.detach().to(torch.float32).abs().view(torch.int32).cpu()
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def random_keys(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    keys = torch.randint(0, _PRUNED_KEY, mask.shape, generator=generator, dtype=torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def _prune_smallest(keys: Mapping[str, torch.Tensor], mask: TicketMask, k: int) -> TicketMask:
    """Prune the `k` survivors with the smallest keys, ties to the earliest (tensor order, then flat index)."""
    if k == 0:
        return TicketMask({name: m.clone() for name, m in mask.items()})
    threshold = _kth_smallest_key(keys.values(), k)
    new, remaining_ties = {}, k - sum(int((key < threshold).sum()) for key in keys.values())
    for name, key in keys.items():
        keep = key > threshold
        ties = (key == threshold).flatten().nonzero().flatten()
        keep.view(-1)[ties[remaining_ties:]] = True  # only the first `remaining_ties` tied weights go
        remaining_ties = max(0, remaining_ties - ties.numel())
        new[name] = keep & mask[name].cpu()
    return TicketMask(new)


def _kth_smallest_key(keys, k: int) -> int:
    """The k-th smallest int32 key (1-based) over several tensors, by a two-pass 16-bit radix select.

    Works one tensor at a time, so its extra memory is a histogram and one tensor's worth of keys, not a
    concatenation of all scores as `torch.kthvalue` or a sort would need.
    """
    keys = list(keys)
    high = torch.zeros(1 << 15, dtype=torch.int64)
    for key in keys:
        high += torch.bincount((key >> 16).flatten(), minlength=1 << 15)
    cum = high.cumsum(0)
    bucket = int(torch.searchsorted(cum, k))  # first bucket whose cumulative count reaches k
    k_in_bucket = k - (int(cum[bucket - 1]) if bucket else 0)
    low = torch.zeros(1 << 16, dtype=torch.int64)
    for key in keys:
        in_bucket = key[(key >> 16) == bucket]
        low += torch.bincount(in_bucket & 0xFFFF, minlength=1 << 16)
    low_value = int(torch.searchsorted(low.cumsum(0), k_in_bucket))
    return (bucket << 16) | low_value
