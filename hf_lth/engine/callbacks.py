"""Trainer callbacks: keep pruned weights and their gradients at zero, and capture the rewind points.

They observe training and flip `TrainerControl` flags, as transformers' callbacks do; they are handed the state
they need (the round's `RoundState`, the experiment folder), never a closure into the trainer.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from ..pruning.masks import TicketMask, apply_bound_, bind_for_steps
from ..storage.weights import full_state_dict, is_dtensor

if TYPE_CHECKING:
    from ..storage.folder import ExperimentFolder
    from .round_state import RoundState


class TicketMaskCallback(TrainerCallback, ExportableState):
    """Keeps pruned weights out of training: their gradients are zeroed as they are computed, and the mask is
    multiplied into the weights after every real optimizer step.

    The gradients are masked in place by a post-accumulate-grad hook on each masked parameter, which runs in the
    backward pass as soon as the parameter's `.grad` is written (inside autograd's AccumulateGrad, before DDP's
    all-reduce hooks see it) and so before Trainer's gradient clipping: pruned weights never enter the clipped
    norm, the optimizer's moments or its weight decay, so the survivors train exactly as in a model without the
    pruned weights. Under SGD, Adam and AdamW (Trainer's defaults) a pruned weight then stays exactly zero; under
    any other optimizer `on_optimizer_step` (once per update, after accumulation, before the scheduler) also
    multiplies the mask into the weights, so they are zero whatever the optimizer does. The mask is moved to the
    parameters' device once per `train()` call, viewed as uint8 (4x faster to multiply by than bool on CPU),
    and tensors it keeps whole are skipped (round 0 costs nothing); no step synchronises with the host. Under FSDP2
    each process masks its own shard: FSDP2 calls the same hook once it has reduce-scattered the gradient into the
    sharded parameter, before clipping.

    It trains the round of `round` (a `RoundState`, which the trainer sets before each round) under that round's
    mask, and writes the learning rates and the time it observes back into it.
    """

    def __init__(self, round: RoundState):
        self.round = round
        self._bound: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        self._hooks: list = []
        self._started: float | None = None
        self._changed_in_round = False  # the mask changed during training (gradual pruning)

    @property
    def mask(self) -> TicketMask:
        """The mask the round trains under now."""
        return self.round.mask

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._changed_in_round = False
        self._bind(model)
        self._started = time.monotonic()
        saved = self.restore(state)
        if state.global_step and saved is None and state.stateful_callbacks is not None:
            # A checkpoint written without this callback's entry (by an older hf_lth): Trainer's next checkpoint
            # would look the entry up and fail with a KeyError, so give it one.
            state.stateful_callbacks[type(self).__name__] = self.state()

    def restore(self, state) -> dict | None:
        """Take the values saved in a checkpoint's `TrainerState` (see `state()`); None for a fresh train()."""
        saved = (state.stateful_callbacks or {}).get(type(self).__name__) if state.global_step else None
        attributes = (saved or {}).get("attributes", {})
        self.round.last_learning_rate = attributes.get("last_learning_rate")
        self.round.first_learning_rate = attributes.get("first_learning_rate")
        self.round.elapsed_before_resume = float(attributes.get("elapsed_s") or 0.0)
        return saved

    def state(self) -> dict:
        """Saved in Trainer checkpoints (trainer_state.json) and read back by `on_train_begin`."""
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return {"args": {}, "attributes": {"last_learning_rate": self.round.last_learning_rate,
                                           "first_learning_rate": self.round.first_learning_rate,
                                           "elapsed_s": round(self.round.elapsed_before_resume + running, 3)}}

    def change_mask(self, mask: TicketMask, model: torch.nn.Module) -> None:
        """Switch the round to `mask` in the middle of training (gradual pruning): zero the newly pruned weights,
        mask their gradients from now on, and multiply the mask in after every step for the rest of the round (the
        optimizer still holds moments for the newly pruned weights, which would move them off zero)."""
        self.round.set_mask(mask)
        self._changed_in_round = True
        self._bind(model)

    def _bind(self, model: torch.nn.Module) -> None:
        self._remove_hooks()
        self._bound = bind_for_steps(self.mask, model)
        apply_bound_(self._bound)
        self._hooks = [param.register_post_accumulate_grad_hook(
            partial(_masked_local_gradient if is_dtensor(param) else _masked_gradient, multiplier))
            for param, multiplier in self._bound]

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if self._changed_in_round or not _keeps_zeros(optimizer):
            apply_bound_(self._bound)
        if optimizer is not None:
            self.round.last_learning_rate = optimizer.param_groups[0]["lr"]
            if self.round.first_learning_rate is None:
                self.round.first_learning_rate = self.round.last_learning_rate

    def on_train_end(self, args, state, control, **kwargs):
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []


# Optimizers whose step leaves a weight that is zero, with a zero gradient and zero state, exactly zero (their weight
# decay multiplies the weight or adds to its zero gradient). Under them the masked gradients alone keep pruned
# weights at zero, and the multiplication after the step, which costs as much as the gradient masking, is skipped.
_ZERO_KEEPING_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)


def _keeps_zeros(optimizer) -> bool:
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps the torch one
    return type(inner) in _ZERO_KEEPING_OPTIMIZERS


def _masked_gradient(multiplier: torch.Tensor, param: torch.nn.Parameter) -> None:
    param.grad.mul_(multiplier)  # in place: no allocation (a fresh 4-byte-per-weight tensor costs page faults)


@torch.no_grad()
def _masked_local_gradient(multiplier: torch.Tensor, param: torch.nn.Parameter) -> None:
    """For a parameter that FSDP2 shards: FSDP2 calls the hook once it has reduce-scattered the gradient into the
    parameter's `.grad` (a DTensor), whose local shard `multiplier` lines up with."""
    param.grad.to_local().mul_(multiplier)


class RewindPointCallback(TrainerCallback):
    """Keeps the model's weights in `folder` at the start of training for step 0 and right after each optimizer
    step in `steps` (the weights that rewinding returns to: Frankle & Carbin 2019; Frankle et al. 2020)."""

    def __init__(self, steps: list[int], folder: ExperimentFolder):
        self.steps = set(steps)
        self.folder = folder

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0 and 0 in self.steps:  # not when resuming: step 0 was kept before
            self.capture(args, model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step in self.steps and state.global_step > 0:
            self.capture(args, model, state.global_step)

    def capture(self, args, model: torch.nn.Module, step: int) -> None:
        """Write the weights after optimizer step `step` (off the accelerator, by the main process; a sharded model's
        gathered whole), then wait for the other processes."""
        from accelerate import PartialState

        state = {k: v.clone() for k, v in full_state_dict(model).items()}
        if args.should_save:
            self.folder.write_rewind_point(step, state)
        PartialState().wait_for_everyone()
