"""Early-bird tickets (You et al., 2020): stop the dense phase as soon as the pruning mask stops changing.

Every `interval` optimizer steps of a dense training, the mask that magnitude pruning (`lth_strategy`) would give at
the target sparsity is computed; once the last `window` masks differ pairwise in less than `epsilon` of the
prunable weights (normalised Hamming distance), training stops and that mask is the ticket. You et al. prune
channels by BatchNorm scale and keep a window of 5 masks with ε = 0.1; hf_lth prunes weights by magnitude, with
the same window and ε by default.
"""

from __future__ import annotations

import itertools
import time

from transformers import TrainerCallback

from .masks import TicketMask
from .sharded import full_weights
from .strategies import PruningStrategy


def mask_distance(a: TicketMask, b: TicketMask) -> float:
    """Fraction of the prunable weights that one mask keeps and the other prunes."""
    differ = sum(int((a[name] != b[name]).sum()) for name in a)
    return differ / a.num_prunable()


class EarlyBirdCallback(TrainerCallback):
    """Watches a dense training; `mask` is the early-bird mask once `stopped_at` is set (training then stops)."""

    def __init__(self, prune_fn: PruningStrategy, target: float, interval: int, epsilon: float, window: int,
                 dense: TicketMask, seed: int):
        self.prune_fn, self.target, self.interval, self.epsilon, self.window = prune_fn, target, interval, epsilon, window
        self.dense, self.seed = dense, seed
        self.recent: list[TicketMask] = []
        self.history: list[dict[str, float]] = []  # step, distance to the previous mask, widest in the window
        self.mask: TicketMask | None = None
        self.stopped_at: int | None = None
        self.started = time.monotonic()
        self.elapsed_s = 0.0

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.interval:
            return
        weights = full_weights(model, self.dense)
        mask = self.prune_fn(weights, self.dense, self.target, self.seed)
        previous = mask_distance(self.recent[-1], mask) if self.recent else None
        self.recent = (self.recent + [mask])[-self.window:]
        widest = (max(mask_distance(a, b) for a, b in itertools.combinations(self.recent, 2))
                  if len(self.recent) == self.window else None)
        self.history.append({"step": state.global_step, "distance": previous, "window_max": widest})
        self.mask = mask
        if widest is not None and widest < self.epsilon:
            self.stopped_at = state.global_step
            control.should_training_stop = True

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.elapsed_s = time.monotonic() - self.started
        if self.mask is None or self.history[-1]["step"] != state.global_step:  # never met: the last weights' mask
            self.mask = self.prune_fn(full_weights(model, self.dense), self.dense, self.target, self.seed)


def describe(callback: EarlyBirdCallback, steps: int) -> dict:
    """The record of an early-bird search: where it stopped (None: never), its cost and its mask distances."""
    return {"early_bird_step": callback.stopped_at, "search_steps": steps,
            "search_time_s": round(callback.elapsed_s, 3), "mask_distances": callback.history}



