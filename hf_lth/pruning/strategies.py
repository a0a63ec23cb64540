"""Pruning strategies (global magnitude, layer-wise magnitude, random) behind one registry.

A strategy takes the current weights, the current mask and the fraction of *surviving* weights to remove,
and returns the next, nested mask. Counts are exact: `round(fraction * survivors)` weights go, globally or
per layer. Ties are broken deterministically, as a stable sort over the survivors in parameter order would:
among equal scores the weight that comes first (by parameter, then flat index) is pruned first.

How the k smallest survivors are found (`_prune_smallest`), without concatenating or sorting all scores:
scores are int32 keys that order like the scores (the bits of |w| as float32, or random integers), made
chunk by chunk into small reused buffers. A strided sample of the keys proposes a narrow window of key
values that should hold the k-th smallest; one pass then writes the new mask (keys above the window
survive) while counting the survivors below the window and collecting those inside it, and an exact
selection among those few decides which of them go. The pass verifies the window (the k-th key must fall
inside it); if it does not, or the model is small, an exact 16-bit radix pass (a histogram of the keys'
high halves) finds the window instead. Extra memory: the new mask (1 byte per weight), a few chunk
buffers and the window's keys (bounded; when more keys than that tie, a streaming pass breaks the ties).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch

from ..errors import LTHInputError
from .masks import TicketMask

PruningStrategy = Callable[[Mapping[str, torch.Tensor], TicketMask, float, int], TicketMask]
PRUNING_STRATEGIES: dict[str, PruningStrategy] = {}

_PRUNED_KEY = torch.iinfo(torch.int32).max  # larger than the key of any finite score
_ABS_BITS = 0x7FFFFFFF  # clearing the sign bit of a float32 is |x|
# Keys are made and scanned in flat chunks of this many weights (1 MiB of int32): the several passes over a
# chunk stay in cache, and the scratch memory is a few MiB whatever the size of the largest tensor.
_CHUNK = 1 << 18
_HIGH_BUCKETS = 1 << 15  # keys are non-negative int32, so their high 16 bits are < 2**15
_SAMPLE_STRIDE = 61  # every 61st weight of each tensor (prime, so it does not follow rows of 2**n columns)
_SAMPLE_MIN_WEIGHTS = 1 << 20  # below this many weights the exact radix pass alone is as fast
_SAMPLE_SIGMAS = 8.0  # half-width of the sampled window, in standard deviations of the sample quantile
_MIN_WINDOW_KEYS = 1 << 16  # a window may always hold this many keys (or 1/128 of the weights)


def register_strategy(name: str) -> Callable[[PruningStrategy], PruningStrategy]:
    def decorator(fn: PruningStrategy) -> PruningStrategy:
        PRUNING_STRATEGIES[name] = fn
        return fn

    return decorator


def prune(
    strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Remove `fraction` of the weights that `mask` keeps, by `strategy`; returns a new nested mask.

    Args:
        strategy: a key of `PRUNING_STRATEGIES` (`global_magnitude`, `layerwise_magnitude`, `random`, ...).
        weights: parameter name -> the weights the strategy scores (e.g. the trained ones).
        mask: the current mask; only the weights it keeps can be pruned.
        fraction: the share of the surviving weights to remove, in [0, 1].
        seed: seeds the strategies that draw at random.

    Returns:
        The new mask, nested in `mask`.

    Raises:
        LTHInputError: an unknown strategy, or a fraction outside [0, 1].
    """
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
        keys = _MagnitudeKeys(weights, mask)
        survivors = keys.survivors()
        return _prune_smallest(keys, mask, num_to_prune(fraction, survivors), survivors)


@register_strategy("layerwise_magnitude")
def layerwise_magnitude(
    weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0
) -> TicketMask:
    """Prune the same fraction of survivors in every tensor, by magnitude within the tensor."""
    new = {}
    with _single_threaded():
        for name in mask:
            sub = TicketMask({name: mask[name]})
            keys = _MagnitudeKeys(weights, sub)
            survivors = keys.survivors()
            new[name] = _prune_smallest(keys, sub, num_to_prune(fraction, survivors), survivors)[name]
    return TicketMask(new)


@register_strategy("random")
def random_global(weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float, seed: int = 0) -> TicketMask:
    """Prune uniformly random surviving weights across all tensors (seeded, device-independent)."""
    index = {name: i for i, name in enumerate(mask)}
    with _single_threaded():
        keys = _RandomKeys(mask, seed, index)
        survivors = keys.survivors()
        return _prune_smallest(keys, mask, num_to_prune(fraction, survivors), survivors)


def random_mask_like(mask: TicketMask, seed: int) -> TicketMask:
    """A random mask keeping exactly as many weights per tensor as `mask` does (the random-pruning control).

    Args:
        mask: the mask whose per-tensor counts to keep.
        seed: seeds the draw (the same seed gives the same mask on every device).

    Returns:
        The random mask.
    """
    new = {}
    with _single_threaded():
        for i, (name, m) in enumerate(mask.items()):
            dense = TicketMask({name: torch.ones_like(m, device="cpu")})
            k = m.numel() - int(np.count_nonzero(_flat_alive(m)))
            new[name] = _prune_smallest(_RandomKeys(dense, seed, {name: i}), dense, k, m.numel())[name]
    return TicketMask(new)


def random_keys(mask: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    """Uniform random int32 keys for one tensor, reproducible from (seed, tensor index) alone; pruned -> max."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    keys = torch.randint(0, _PRUNED_KEY, mask.shape, generator=generator, dtype=torch.int32)
    return keys.masked_fill_(~mask.cpu(), _PRUNED_KEY)


# ---------------------------------------------------------------------------------------------- keys


def _flat_alive(mask: torch.Tensor) -> np.ndarray:
    return mask.detach().reshape(-1).cpu().numpy()


class _Keys:
    """A strategy's scores as int32 keys, one tensor at a time, in flat order.

    `chunks(name)` yields `(keys, alive)` numpy arrays of at most `_CHUNK` elements; `keys` may be a reused
    buffer (valid until the next chunk) and is arbitrary where `alive` is False. `sample(name, stride)` gives
    the keys of the surviving weights at flat positions 0, stride, 2 * stride, ...
    """

    def __init__(self, mask: Mapping[str, torch.Tensor]):
        self.mask = mask

    def survivors(self) -> int:
        return sum(int(np.count_nonzero(_flat_alive(m))) for m in self.mask.values())

    def chunks(self, name: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def sample(self, name: str, stride: int) -> np.ndarray:
        raise NotImplementedError


class _MagnitudeKeys(_Keys):
    """Keys ordered as |w|: the float32 bits with the sign bit cleared (non-negative floats sort as their bits)."""

    def __init__(self, weights: Mapping[str, torch.Tensor], mask: Mapping[str, torch.Tensor]):
        super().__init__(mask)
        self.weights = weights
        self._key = np.empty(_CHUNK, dtype=np.int32)
        self._float: torch.Tensor | None = None  # made only for weights that are not float32 on the CPU

    def _flat_weight(self, name: str) -> torch.Tensor:
        return self.weights[name].detach().reshape(-1)

    def chunks(self, name: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        weight, alive = self._flat_weight(name), _flat_alive(self.mask[name])
        direct = weight.dtype == torch.float32 and weight.device.type == "cpu"
        bits = weight.numpy().view(np.int32) if direct else None
        if not direct and self._float is None:
            self._float = torch.empty(_CHUNK, dtype=torch.float32)
        for start in range(0, weight.numel(), _CHUNK):
            stop = min(start + _CHUNK, weight.numel())
            if direct:
                chunk_bits = bits[start:stop]
            else:  # another dtype or device: convert this chunk only
                chunk_bits = self._float[: stop - start].copy_(weight[start:stop]).numpy().view(np.int32)
            yield np.bitwise_and(chunk_bits, _ABS_BITS, out=self._key[: stop - start]), alive[start:stop]

    def sample(self, name: str, stride: int) -> np.ndarray:
        picked = self._flat_weight(name)[::stride].to(device="cpu", dtype=torch.float32).numpy().view(np.int32)
        return np.bitwise_and(picked, _ABS_BITS)[_flat_alive(self.mask[name])[::stride]]


class _RandomKeys(_Keys):
    """Uniform random keys, reproducible from (seed, tensor index): `random_keys`."""

    def __init__(self, mask: Mapping[str, torch.Tensor], seed: int, index: Mapping[str, int]):
        super().__init__(mask)
        self.seed, self.index = seed, index

    def _keys(self, name: str) -> np.ndarray:
        return random_keys(self.mask[name], self.seed, self.index[name]).reshape(-1).numpy()

    def chunks(self, name: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        keys, alive = self._keys(name), _flat_alive(self.mask[name])
        for start in range(0, keys.size, _CHUNK):
            yield keys[start : start + _CHUNK], alive[start : start + _CHUNK]

    def sample(self, name: str, stride: int) -> np.ndarray:
        return self._keys(name)[::stride][_flat_alive(self.mask[name])[::stride]]


@contextmanager
def _single_threaded():
    """Run the selection on one intra-op thread.

    Its kernels are memory-bound and short (one cache-sized chunk each): a second thread saves little, and on a
    busy machine every parallel kernel waits for a core (measured on 2 shared cores: 8 ms instead of 0.4 ms a
    kernel, 4-9 s instead of 0.3 s for a BERT-base-sized encoder).
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


# ----------------------------------------------------------------------------------------- selection


def _prune_smallest(keys: _Keys, mask: TicketMask, k: int, survivors: int) -> TicketMask:
    """Prune the `k` smallest-key weights of the `survivors` that `mask` keeps, ties to the earliest (tensor
    order, then flat index)."""
    if k == 0:
        return TicketMask({name: m.clone() for name, m in mask.items()})
    names = list(mask)
    total = sum(m.numel() for m in mask.values())
    limit = max(_MIN_WINDOW_KEYS, total // 128)
    if total >= _SAMPLE_MIN_WEIGHTS:
        window = _sampled_window(keys, names, k, survivors)
        if window is not None:
            new = _select_in_window(keys, mask, k, survivors, *window, limit)
            if new is not None:
                return new
    bucket, below, in_bucket = _radix_bucket(keys, names, k, total - survivors)
    if in_bucket <= limit:
        new = _select_in_window(keys, mask, k, survivors, bucket << 16, (bucket << 16) | 0xFFFF, limit)
        if new is not None:
            return new
    threshold, below = _threshold_in_bucket(keys, names, bucket, below, k)
    return _mask_from_threshold(keys, mask, threshold, k - below)


def _sampled_window(keys: _Keys, names: list[str], k: int, survivors: int) -> tuple[int, int] | None:
    """Key values [lo, hi] that hold the k-th smallest survivor's key with high probability, from a sample."""
    sample = np.concatenate([keys.sample(name, _SAMPLE_STRIDE) for name in names])
    n = sample.size
    if n == 0:
        return None
    q = k / survivors
    spread = _SAMPLE_SIGMAS * math.sqrt(n * q * (1.0 - q)) + 2.0
    rank_lo, rank_hi = math.floor(q * n - spread), math.ceil(q * n + spread)
    ranks = [r for r in (rank_lo, rank_hi) if 0 <= r < n]
    part = np.partition(sample, ranks) if ranks else sample
    lo = int(part[rank_lo]) if rank_lo >= 0 else 0
    hi = int(part[rank_hi]) if rank_hi < n else _PRUNED_KEY
    return lo, hi


def _select_in_window(
    keys: _Keys, mask: TicketMask, k: int, survivors: int, lo: int, hi: int, limit: int
) -> TicketMask | None:
    """One pass: survivors with keys above `hi` stay, those below `lo` go, and the ones inside [lo, hi] go by
    (key, position) until k have gone. None if the k-th key is not inside the window, or it holds over `limit`."""
    size = min(_CHUNK, max(m.numel() for m in mask.values()))
    above_buf, inside_buf = np.empty(size, dtype=bool), np.empty(size, dtype=bool)
    new, found = {}, []
    kept = inside = 0
    for name in mask:
        keep_tensor = torch.empty(mask[name].shape, dtype=torch.bool)
        keep = keep_tensor.view(-1).numpy()
        start = 0
        for key, alive in keys.chunks(name):
            n = key.size
            above = np.greater(key, hi, out=above_buf[:n])
            out = np.logical_and(above, alive, out=keep[start : start + n])
            within = np.greater_equal(key, lo, out=inside_buf[:n])
            np.logical_and(np.logical_xor(within, above, out=within), alive, out=within)
            index = np.flatnonzero(within)
            if index.size:
                inside += index.size
                if inside > limit:
                    return None
                found.append((keep, index + start, key[index]))
            kept += int(np.count_nonzero(out))
            start += n
        new[name] = keep_tensor
    below = survivors - kept - inside
    to_prune = k - below  # how many of the window's keys go
    if not 0 < to_prune <= inside:
        return None
    window_keys = np.concatenate([key for _, _, key in found])
    threshold = np.partition(window_keys, to_prune - 1)[to_prune - 1]
    pruned = window_keys < threshold
    ties = np.flatnonzero(window_keys == threshold)
    pruned[ties[: to_prune - int(np.count_nonzero(pruned))]] = True  # the earliest tied keys go first
    offset = 0
    for keep, index, key in found:
        keep[index[~pruned[offset : offset + key.size]]] = True
        offset += key.size
    return TicketMask(new)


def _radix_bucket(keys: _Keys, names: list[str], k: int, num_pruned: int) -> tuple[int, int, int]:
    """Exact pass: the bucket (high 16 bits) of the k-th smallest survivor's key, how many survivors lie in
    lower buckets and how many in that bucket."""
    high_buf = torch.empty(_CHUNK, dtype=torch.int32)
    high_np = high_buf.numpy()
    hist = torch.zeros(_HIGH_BUCKETS, dtype=torch.int64)
    for name in names:
        for key, alive in keys.chunks(name):
            n = key.size
            high = np.right_shift(key, 16, out=high_np[:n])
            np.multiply(high, alive, out=high)  # pruned weights count in bucket 0; subtracted below
            hist += torch.bincount(high_buf[:n], minlength=_HIGH_BUCKETS)
    hist[0] -= num_pruned
    cum = hist.cumsum(0)
    bucket = int(torch.searchsorted(cum, k))  # first bucket whose cumulative count reaches k
    below = int(cum[bucket - 1]) if bucket else 0
    return bucket, below, int(hist[bucket])


def _threshold_in_bucket(keys: _Keys, names: list[str], bucket: int, before_bucket: int, k: int) -> tuple[int, int]:
    """The k-th smallest survivor's key, knowing it lies in `bucket`, and how many survivors are below it."""
    low = np.zeros(1 << 16, dtype=np.int64)
    for name in names:
        for key, alive in keys.chunks(name):
            inside = key[((key >> 16) == bucket) & alive]
            low += np.bincount(inside & 0xFFFF, minlength=1 << 16)
    low_cum = low.cumsum()
    low_value = int(np.searchsorted(low_cum, k - before_bucket))
    below = before_bucket + (int(low_cum[low_value - 1]) if low_value else 0)
    return (bucket << 16) | low_value, below


def _mask_from_threshold(keys: _Keys, mask: TicketMask, threshold: int, remaining_ties: int) -> TicketMask:
    """Survivors with keys above `threshold` stay; of those equal to it, the first `remaining_ties` go."""
    new = {}
    for name in mask:
        keep_tensor = torch.empty(mask[name].shape, dtype=torch.bool)
        keep = keep_tensor.view(-1).numpy()
        start = 0
        for key, alive in keys.chunks(name):
            n = key.size
            out = np.greater(key, threshold, out=keep[start : start + n])
            tie = (key == threshold) & alive
            if remaining_ties > 0:
                ties = np.flatnonzero(tie)
                out[ties[remaining_ties:]] = True  # only the first `remaining_ties` tied weights go
                remaining_ties -= min(remaining_ties, ties.size)
            else:
                out |= tie
            out &= alive
            start += n
        new[name] = keep_tensor
    return TicketMask(new)
