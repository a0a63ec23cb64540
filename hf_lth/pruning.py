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
    return _prune_smallest(lambda name: magnitude_keys(weights[name], mask[name]), mask, num_to_prune(fraction, mask.num_kept()))


@register_strategy("layerwise_magnitude")
def layerwise_magnitude(
    weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Prune the same fraction of survivors in every tensor, by magnitude within the tensor."""
    new = {}
    for name in mask:
        sub = TicketMask({name: mask[name]})
        k = num_to_prune(fraction, int(mask[name].sum()))
        new[name] = _prune_smallest(lambda n: magnitude_keys(weights[n], mask[n]), sub, k)[name]
    return TicketMask(new)


@register_strategy("random")
def random_global(weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0) -> TicketMask:
    """Prune uniformly random surviving weights across all tensors (seeded, device-independent)."""
    index = {name: i for i, name in enumerate(mask)}
    return _prune_smallest(
        lambda name: random_keys(mask[name], seed, index[name]), mask, num_to_prune(fraction, mask.num_kept())
    )


def random_mask_like(mask: TicketMask, seed: int) -> TicketMask:
    """A random mask keeping exactly as many weights per tensor as `mask` does (the random-pruning control)."""
    new = {}
    for i, (name, m) in enumerate(mask.items()):
        dense = TicketMask({name: torch.ones_like(m, device="cpu")})
        k = m.numel() - int(m.sum())
        new[name] = _prune_smallest(lambda n: random_keys(dense[n], seed, i), dense, k)[name]
    return TicketMask(new)


def magnitude_keys(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """int32 keys ordered as |weight| (the bits of a non-negative float32 sort like the float); pruned -> max."""
    keys = weight.detach().to(device="cpu", dtype=torch.float32).abs().view(torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def random_keys(mask: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    """Uniform random int32 keys for one tensor, reproducible from (seed, tensor index) alone; pruned -> max."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    keys = torch.randint(0, _PRUNED_KEY, mask.shape, generator=generator, dtype=torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def _prune_smallest(keys_of: Callable[[str], torch.Tensor], mask: TicketMask, k: int) -> TicketMask:
    """Prune the `k` survivors with the smallest keys, ties to the earliest (tensor order, then flat index).

    Keys are recomputed tensor by tensor in each pass rather than kept, so the extra memory is one tensor's
    keys, two histograms and the new mask (1 byte per weight), instead of a concatenation of all scores.
    """
    if k == 0:
        return TicketMask({name: m.clone() for name, m in mask.items()})
    threshold, below = _kth_smallest_key(keys_of, list(mask), k)
    new, remaining_ties = {}, k - below
    for name in mask:
        key = keys_of(name)
        keep = key > threshold
        if remaining_ties > 0:
            ties = (key == threshold).view(-1).nonzero().view(-1)
            keep.view(-1)[ties[remaining_ties:]] = True  # only the first `remaining_ties` tied weights go
            remaining_ties -= min(remaining_ties, ties.numel())
        else:
            keep |= key == threshold
        new[name] = keep.logical_and_(mask[name].cpu())
    return TicketMask(new)


def _kth_smallest_key(keys_of: Callable[[str], torch.Tensor], names: list[str], k: int) -> tuple[int, int]:
    """The k-th smallest int32 key (1-based) over several tensors, and how many keys are below it.

    A two-pass 16-bit radix select: a histogram of the high halves finds the bucket holding the k-th key,
    a histogram of the low halves inside that bucket finds the key itself.
    """
    high = torch.zeros(1 << 15, dtype=torch.int64)
    for name in names:
        high += torch.bincount((keys_of(name) >> 16).view(-1), minlength=1 << 15)
    cum = high.cumsum(0)
    bucket = int(torch.searchsorted(cum, k))  # first bucket whose cumulative count reaches k
    before_bucket = int(cum[bucket - 1]) if bucket else 0
    low = torch.zeros(1 << 16, dtype=torch.int64)
    for name in names:
        key = keys_of(name)
        low += torch.bincount(key[(key >> 16) == bucket] & 0xFFFF, minlength=1 << 16)
    low_cum = low.cumsum(0)
    low_value = int(torch.searchsorted(low_cum, k - before_bucket))
    below = before_bucket + (int(low_cum[low_value - 1]) if low_value else 0)
    return (bucket << 16) | low_value, below
