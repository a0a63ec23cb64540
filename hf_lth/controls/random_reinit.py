"""`random_reinit`: the ticket's mask over freshly initialised prunable weights (the other parameters as the
ticket starts them)."""

from __future__ import annotations

import torch

from ..pruning.sharded import local, shard_like
from ..storage.weights import load_state_in_place
from .base import Control, register_control


@register_control
class RandomReinit(Control):
    name = "random_reinit"
    seed_offset = 2_000

    def start(self, ticket_mask, rewind, folder, index, model, seed, granularity=None):
        load_state_in_place(model, rewind.start_state(folder, index), folder.round_dir(index))
        reinitialise_(model, ticket_mask, seed)
        return ticket_mask


@torch.no_grad()
def reinitialise_(model: torch.nn.Module, names, seed: int) -> None:
    """Give the parameters in `names` the values a freshly built model of the same class and seed would have."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = type(model)._from_config(model.config)
    fresh_params = dict(fresh.named_parameters())
    for name, param in model.named_parameters():
        if name in names:  # a parameter that FSDP2 shards takes its slice of the fresh one
            local(param).copy_(shard_like(fresh_params[name], param).to(param.dtype))
