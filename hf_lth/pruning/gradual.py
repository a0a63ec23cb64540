"""Gradual magnitude pruning (GMP; Zhu & Gupta, 2017): one round that prunes while it trains.

From step t₀ to t_end, every Δt steps, the weights are pruned by magnitude (`lth_strategy`) up to
s_t = s_f + (s_i − s_f)(1 − (t − t₀) / (t_end − t₀))³ (s_i = the round's starting sparsity, s_f =
`lth_target_sparsity`): fast at first, slowly near the end, then the last steps train the final mask. Pruned
weights never return. The round reaches s_f exactly at t_end (counts are rounded to whole weights once).

A resumed round reads its mask from the checkpoint (`lth_mask.safetensors` beside Trainer's files), where
`on_save` wrote it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from transformers import TrainerCallback

from ..storage.paths import checkpoint_name
from .masks import MASK_FILE, TicketMask
from .sharded import full_weights
from .strategies import PruningStrategy

if TYPE_CHECKING:
    from ..engine.callbacks import TicketMaskCallback


def pruning_steps(start: int, end: int, frequency: int) -> list[int]:
    """t₀, t₀ + Δt, ... up to and including t_end (the last interval may be shorter)."""
    steps = list(range(start, end, frequency))
    return steps + [end] if not steps or steps[-1] != end else steps


def cubic_sparsity(step: int, start: int, end: int, final: float, initial: float = 0.0) -> float:
    """Zhu & Gupta's target sparsity at pruning step `step` (clamped to [t₀, t_end])."""
    progress = min(max((step - start) / (end - start), 0.0), 1.0)
    return final + (initial - final) * (1.0 - progress) ** 3


def saved_mask(checkpoint: str) -> TicketMask | None:
    """The mask a gradual-pruning round had reached when Trainer wrote `checkpoint` (None: none saved there)."""
    path = os.path.join(checkpoint, MASK_FILE)
    return TicketMask.load(path) if os.path.isfile(path) else None


class GradualPruningCallback(TrainerCallback):
    """Prunes at each step of `pruning_steps` to the cubic schedule's sparsity, through `masker` (the trainer's
    `TicketMaskCallback`), which holds the round's mask and keeps the gradients and weights masked. `initial`: the
    sparsity the round starts at (s_i)."""

    def __init__(self, prune_fn: PruningStrategy, final: float, start: int, end: int, frequency: int, seed: int,
                 masker: TicketMaskCallback, initial: float):
        self.prune_fn, self.final, self.start, self.end, self.seed = prune_fn, final, start, end, seed
        self.steps = pruning_steps(start, end, frequency)
        self.masker, self.initial = masker, initial

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step:  # resumed: the mask the round had reached is in the checkpoint
            saved = saved_mask(os.path.join(args.output_dir, checkpoint_name(state.global_step)))
            if saved is not None:
                self.masker.change_mask(saved, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step not in self.steps:
            return
        mask = self.masker.mask
        total = mask.num_prunable()
        keep = round((1.0 - cubic_sparsity(state.global_step, self.start, self.end, self.final, self.initial)) * total)
        kept = mask.num_kept()
        if keep >= kept:
            return
        weights = full_weights(model, mask)
        self.masker.change_mask(self.prune_fn(weights, mask, (kept - keep) / kept, self.seed + state.global_step),
                                model)

    def on_save(self, args, state, control, **kwargs):
        if args.should_save:
            folder = os.path.join(args.output_dir, checkpoint_name(state.global_step))
            if os.path.isdir(folder):
                self.masker.mask.save(os.path.join(folder, MASK_FILE))
