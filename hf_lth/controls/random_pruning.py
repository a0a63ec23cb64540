"""`random_pruning`: a random mask with the ticket's per-tensor counts and structure (whole units for a channel
ticket, the same count in every group for N:M), from the ticket's starting weights
(under `lr`/`finetune` rewinding, from round 0's trained weights: see `rewinding/lr.py`)."""

from __future__ import annotations

from ..pruning.strategies import random_mask_like
from ..storage.weights import load_state_in_place
from .base import Control, register_control


@register_control
class RandomPruning(Control):
    name = "random_pruning"
    seed_offset = 1_000

    def start(self, ticket_mask, rewind, folder, index, model, seed, granularity=None):
        load_state_in_place(model, rewind.control_start_state(folder, index), folder.round_dir(index))
        if granularity is None:
            return random_mask_like(ticket_mask, seed=seed)
        return granularity.random_like(ticket_mask, seed)

