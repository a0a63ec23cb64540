"""Pruning strategies (global magnitude, layer-wise magnitude, random) behind one registry.

A strategy takes the current weights, the current mask and the fraction of *surviving* weights to remove,
and returns the next, nested mask. Counts are exact: `round(fraction * survivors)` weights go, globally or
per layer. Ties are broken deterministically, as a stable sort over the survivors in parameter order would:
among equal scores the weight that comes first (by parameter, then flat index) is pruned first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch

from .errors import LTHInputError
from .masks import TicketMask

PruningStrategy = Callable[[Mapping[str, torch.Tensor], TicketMask, float, int], TicketMask]
PRUNING_STRATEGIES: dict[str, PruningStrategy] = {}

_PRUNED_KEY = torch.iinfo(torch.int32).max  # larger than the key of any finite score
_ABS_BITS = 0x7FFFFFFF  # clearing the sign bit of a float32 is |x|
# Keys are made and scanned in flat chunks of this many weights (1 MiB of int32): every pass over a chunk
# stays in cache, and the scratch memory is a few MiB whatever the size of the largest tensor.
_CHUNK = 1 << 18
_HIGH_BUCKETS = 1 << 15  # keys are non-negative int32, so their high 16 bits are < 2**15
_MIN_BUCKET_KEYS = 1 << 16  # a bucket this full (or 1/128 of the weights) is still sorted in memory

# A strategy's keys, one tensor at a time: `keys_of(name)` yields that tensor's int32 keys as flat chunks of
# at most `_CHUNK`, in flat order. A yielded chunk may be a reused buffer, valid until the next one.
KeyChunks = Callable[[str], Iterator[torch.Tensor]]


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
    with _single_threaded():
        k = num_to_prune(fraction, mask.num_kept())
        return _prune_smallest(magnitude_key_chunks(weights, mask), mask, k)


@register_strategy("layerwise_magnitude")
def layerwise_magnitude(
    weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Prune the same fraction of survivors in every tensor, by magnitude within the tensor."""
    new = {}
    with _single_threaded():
        keys_of = magnitude_key_chunks(weights, mask)
        for name in mask:
            sub = TicketMask({name: mask[name]})
            new[name] = _prune_smallest(keys_of, sub, num_to_prune(fraction, int(mask[name].sum())))[name]
    return TicketMask(new)


@register_strategy("random")
def random_global(weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0) -> TicketMask:
    """Prune uniformly random surviving weights across all tensors (seeded, device-independent)."""
    index = {name: i for i, name in enumerate(mask)}
    with _single_threaded():
        k = num_to_prune(fraction, mask.num_kept())
        return _prune_smallest(lambda name: _chunks(random_keys(mask[name], seed, index[name])), mask, k)


def random_mask_like(mask: TicketMask, seed: int) -> TicketMask:
    """A random mask keeping exactly as many weights per tensor as `mask` does (the random-pruning control)."""
    new = {}
    with _single_threaded():
        for i, (name, m) in enumerate(mask.items()):
            dense = TicketMask({name: torch.ones_like(m, device="cpu")})
            k = m.numel() - int(m.sum())
            new[name] = _prune_smallest(lambda n: _chunks(random_keys(dense[n], seed, i)), dense, k)[name]
    return TicketMask(new)


def magnitude_keys(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """int32 keys ordered as |weight| (the bits of a non-negative float32 sort like the float); pruned -> max."""
    keys = weight.detach().to(device="cpu", dtype=torch.float32).abs().view(torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def magnitude_key_chunks(weights: Mapping[str, torch.Tensor], mask: Mapping[str, torch.Tensor]) -> KeyChunks:
    """`magnitude_keys`, chunk by chunk into reused buffers: the scratch memory is O(chunk), not O(tensor)."""
    key_buf = torch.empty(_CHUNK, dtype=torch.int32)
    dead_buf = torch.empty(_CHUNK, dtype=torch.bool)
    float_buf: list[torch.Tensor] = []  # made only for weights that are not float32 on the CPU

    def keys_of(name: str) -> Iterator[torch.Tensor]:
        weight = weights[name].detach().reshape(-1)
        alive = mask[name].reshape(-1).cpu()
        direct = weight.dtype == torch.float32 and weight.device.type == "cpu"
        if not direct and not float_buf:
            float_buf.append(torch.empty(_CHUNK, dtype=torch.float32))
        for start in range(0, weight.numel(), _CHUNK):
            stop = min(start + _CHUNK, weight.numel())
            size = stop - start
            if direct:
                bits = weight[start:stop].view(torch.int32)
            else:  # another dtype or device: convert this chunk only
                bits = float_buf[0][:size].copy_(weight[start:stop]).view(torch.int32)
            key = torch.bitwise_and(bits, _ABS_BITS, out=key_buf[:size])
            key.masked_fill_(torch.logical_not(alive[start:stop], out=dead_buf[:size]), _PRUNED_KEY)
            yield key

    return keys_of


def random_keys(mask: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    """Uniform random int32 keys for one tensor, reproducible from (seed, tensor index) alone; pruned -> max."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    keys = torch.randint(0, _PRUNED_KEY, mask.shape, generator=generator, dtype=torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


def _chunks(keys: torch.Tensor) -> Iterator[torch.Tensor]:
    flat = keys.reshape(-1)
    for start in range(0, flat.numel(), _CHUNK):
        yield flat[start : start + _CHUNK]


@contextmanager
def _single_threaded():
    """Run the selection on one intra-op thread.

    Its kernels are memory-bound and short (one cache-sized chunk each): a second thread saves little, and on a
    busy machine every parallel kernel waits for a core (measured: 8 ms instead of 0.4 ms per kernel on 2 shared
    cores, 4-9 s instead of 0.3 s for a BERT-base-sized encoder).
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _prune_smallest(keys_of: KeyChunks, mask: TicketMask, k: int) -> TicketMask:
    """Prune the `k` survivors with the smallest keys, ties to the earliest (tensor order, then flat index).

    A 16-bit radix select, streamed chunk by chunk (no concatenation of all scores, no sort of them):

    1. a histogram of the keys' high 16 bits finds the bucket that holds the k-th smallest key;
    2. one more pass writes the new mask (keys above the bucket survive) and collects the few keys inside the
       bucket, in tensor then flat order; a stable sort of their low 16 bits decides which of them go.

    If the bucket is unusually full (e.g. many equal weights), step 2 instead histograms the low 16 bits inside
    it and a third pass writes the mask. Extra memory: the new mask (1 byte per weight), a few chunk buffers and
    the bucket's keys (at most 1/128 of the weights, else the three-pass route).
    """
    names = list(mask)
    if k == 0:
        return TicketMask({name: m.clone() for name, m in mask.items()})
    high_buf = torch.empty(_CHUNK, dtype=torch.int32)
    hist = torch.zeros(_HIGH_BUCKETS, dtype=torch.int64)
    for name in names:
        for key in keys_of(name):
            hist += torch.bincount(torch.bitwise_right_shift(key, 16, out=high_buf[: key.numel()]), minlength=_HIGH_BUCKETS)
    cum = hist.cumsum(0)
    bucket = int(torch.searchsorted(cum, k))  # first bucket whose cumulative count reaches k
    below = int(cum[bucket - 1]) if bucket else 0  # survivors in lower buckets: all pruned
    in_bucket = int(hist[bucket])
    total = sum(m.numel() for m in mask.values())
    if in_bucket <= max(_MIN_BUCKET_KEYS, total // 128) and bucket < _HIGH_BUCKETS - 1:
        return _mask_from_bucket(keys_of, mask, bucket, k - below, high_buf)
    threshold, below = _threshold_in_bucket(keys_of, names, bucket, below, k)
    return _mask_from_threshold(keys_of, mask, threshold, k - below)


def _mask_from_bucket(keys_of: KeyChunks, mask: TicketMask, bucket: int, prune_in_bucket: int, high_buf) -> TicketMask:
    """Pass 2 of `_prune_smallest`: keys above `bucket` survive; of those inside it, the first
    `prune_in_bucket` by (low 16 bits, position) go."""
    upper = (bucket << 16) | 0xFFFF
    flag_buf = torch.empty(_CHUNK, dtype=torch.bool)
    new, found, lows = {}, [], []
    for name in mask:
        alive = mask[name].reshape(-1).cpu()
        keep = torch.empty(alive.numel(), dtype=torch.bool)
        start = 0
        for key in keys_of(name):
            size = key.numel()
            out = keep[start : start + size]
            torch.gt(key, upper, out=out).logical_and_(alive[start : start + size])
            high = torch.bitwise_right_shift(key, 16, out=high_buf[:size])
            index = torch.eq(high, bucket, out=flag_buf[:size]).nonzero().view(-1)
            if index.numel():
                lows.append(key[index].bitwise_and_(0xFFFF))
                found.append((keep, index.add_(start)))
            start += size
        new[name] = keep.view(mask[name].shape)
    if found:
        order = torch.sort(torch.cat(lows), stable=True).indices
        spared = torch.zeros(order.numel(), dtype=torch.bool)
        spared[order[prune_in_bucket:]] = True
        offset = 0
        for keep, index in found:
            keep[index[spared[offset : offset + index.numel()]]] = True
            offset += index.numel()
    return TicketMask(new)


def _threshold_in_bucket(keys_of: KeyChunks, names: list[str], bucket: int, before_bucket: int, k: int):
    """The k-th smallest key (1-based), knowing it lies in `bucket`, and how many keys are below it."""
    low = torch.zeros(1 << 16, dtype=torch.int64)
    for name in names:
        for key in keys_of(name):
            inside = key[torch.bitwise_right_shift(key, 16) == bucket]
            if bucket == _HIGH_BUCKETS - 1:
                inside = inside[inside != _PRUNED_KEY]
            low += torch.bincount(inside & 0xFFFF, minlength=1 << 16)
    low_cum = low.cumsum(0)
    low_value = int(torch.searchsorted(low_cum, k - before_bucket))
    below = before_bucket + (int(low_cum[low_value - 1]) if low_value else 0)
    return (bucket << 16) | low_value, below


def _mask_from_threshold(keys_of: KeyChunks, mask: TicketMask, threshold: int, remaining_ties: int) -> TicketMask:
    """Keys above `threshold` survive; of the keys equal to it, the first `remaining_ties` go."""
    new = {}
    for name in mask:
        alive = mask[name].reshape(-1).cpu()
        keep = torch.empty(alive.numel(), dtype=torch.bool)
        start = 0
        for key in keys_of(name):
            size = key.numel()
            out = keep[start : start + size]
            alive_chunk = alive[start : start + size]
            torch.gt(key, threshold, out=out)
            tie = (key == threshold).logical_and_(alive_chunk)
            if remaining_ties > 0:
                ties = tie.nonzero().view(-1)
                out[ties[remaining_ties:]] = True  # only the first `remaining_ties` tied weights go
                remaining_ties -= min(remaining_ties, ties.numel())
            else:
                out |= tie
            out.logical_and_(alive_chunk)
            start += size
        new[name] = keep.view(mask[name].shape)
    return TicketMask(new)
