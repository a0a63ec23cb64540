"""Trainer callbacks: keep pruned weights at zero, and capture the late-rewinding point."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from .masks import TicketMask, apply_bound_, bind_for_steps


class TicketMaskCallback(TrainerCallback, ExportableState):
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
        self.elapsed_before_resume = 0.0  # seconds the round had run before the checkpoint it resumed from
        self._started: float | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._bound = bind_for_steps(self.mask, model)
        apply_bound_(self._bound)
        self._started = time.monotonic()
        # None for a fresh train(); after a resume, the values saved in the checkpoint (see `state()`)
        saved = (state.stateful_callbacks or {}).get(type(self).__name__) if state.global_step else None
        attributes = (saved or {}).get("attributes", {})
        self.last_learning_rate = attributes.get("last_learning_rate")
        self.elapsed_before_resume = float(attributes.get("elapsed_s") or 0.0)
        if state.global_step and saved is None and state.stateful_callbacks is not None:
            # A checkpoint written without this callback's entry (by an older hf_lth): Trainer's next checkpoint
            # would look the entry up and fail with a KeyError, so give it one.
            state.stateful_callbacks[type(self).__name__] = self.state()

    def state(self) -> dict:
        """Saved in Trainer checkpoints (trainer_state.json) and read back by `on_train_begin`."""
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return {"args": {}, "attributes": {"last_learning_rate": self.last_learning_rate,
                                           "elapsed_s": round(self.elapsed_before_resume + running, 3)}}

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
