"""Masks over a model that FSDP2 shards (`torch.distributed.fsdp.fully_shard`): each process holds a slice of every
parameter (a DTensor), while a `TicketMask` always holds the full tensors.

Pruning reads the full weights (`full_weights`: each sharded tensor gathered, one at a time, onto the host of every
process), so every process selects the same weights as one unsharded process would, with the same global threshold
and the same tie-breaking. Applying a mask works on each process's own slice (`shard_like`: the mask cut as the
parameter is, with no communication, since every process holds the same mask). A plain model's tensors pass through
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..storage.weights import is_dtensor


def local(tensor: torch.Tensor) -> torch.Tensor:
    """The part of `tensor` this process holds: a DTensor's local shard (the same memory), else `tensor` itself."""
    return tensor.to_local() if is_dtensor(tensor) else tensor


def shard_like(full: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """The part of `full` (a tensor of the parameter's whole shape: its mask, fresh weights) that lines up with
    `local(param)`, on the parameter's device."""
    full = full.to(param.device)
    if not is_dtensor(param):
        return full
    from torch.distributed.tensor import distribute_tensor

    # every process holds the same full tensor: each cuts its own slice (src_data_rank=None: no communication)
    return distribute_tensor(full, param.device_mesh, param.placements, src_data_rank=None).to_local()


def full_weights(model: torch.nn.Module, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The named parameters of `model`, detached and whole: a sharded one gathered onto the host (every process must
    call this, in the same order), a plain one as it is (on its device, not copied)."""
    params = dict(model.named_parameters())
    return {name: params[name].detach().full_tensor().cpu() if is_dtensor(params[name]) else params[name].detach()
            for name in names}
