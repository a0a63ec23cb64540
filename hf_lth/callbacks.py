"""Trainer callbacks: keep pruned weights at zero, and capture the late-rewinding point."""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import TrainerCallback

from .masks import TicketMask, apply_bound_, bind_for_steps


class TicketMaskCallback(TrainerCallback):
    """Multiplies the mask into the weights after every real optimizer step.

    `on_optimizer_step` fires once per update, after gradient accumulation and before the scheduler, so weight
    decay or momentum can never revive a pruned weight. The mask is moved to the parameters' device once per
    `train()` call, viewed as uint8 (4x faster to multiply by than bool on CPU), and tensors it keeps whole are
    skipped (round 0 costs nothing); the step itself is a few in-place multiplications with no host
    synchronisation.
    """

    def __init__(self, mask: TicketMask):
        self.mask = mask
        self._bound: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        self.last_learning_rate: float | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._bound = bind_for_steps(self.mask, model)
        apply_bound_(self._bound)

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        apply_bound_(self._bound)
        if optimizer is not None:
            self.last_learning_rate = optimizer.param_groups[0]["lr"]


class RewindPointCallback(TrainerCallback):
    """Calls `capture(model)` once, right after optimizer step `step` (late rewinding, Frankle et al. 2020)."""

    def __init__(self, step: int, capture: Callable[[torch.nn.Module], None]):
        self.step = step
        self.capture = capture
        self.captured = False

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if not self.captured and state.global_step == self.step:
            self.capture(model)
            self.captured = True
