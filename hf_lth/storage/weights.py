"""A model's weights in and out, in place: rewinds and controls never replace the model object, and a model sharded
by FSDP2 (`torch.distributed.fsdp.fully_shard`, whose parameters are DTensors) reads and writes full state dicts."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from ..errors import LTHInputError


def is_dtensor(tensor: torch.Tensor) -> bool:
    """True for a DTensor (a parameter or gradient that FSDP2 shards over processes)."""
    dtensor = _dtensor_class()
    return dtensor is not None and isinstance(tensor, dtensor)


@functools.cache
def _dtensor_class() -> type | None:
    if not torch.distributed.is_available():  # a build of torch without torch.distributed has no DTensor
        return None
    from torch.distributed.tensor import DTensor

    return DTensor


def is_sharded(model: torch.nn.Module) -> bool:
    """True when some parameter of `model` is a DTensor (FSDP2 sharded it); False for a plain or DDP model."""
    return any(is_dtensor(param) for param in model.parameters())


def full_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict as full tensors on the host, for writing by the main process.

    A plain model's, on every process (on XLA `.cpu()` runs the pending graph, which every process must do alike). A
    sharded model's is gathered one tensor at a time onto the CPU of process 0 alone (`get_model_state_dict` with
    `full_state_dict` and `cpu_offload`; every process must call it); the other processes get an empty dict.
    """
    if not is_sharded(model):
        return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().contiguous() for k, v in state.items()}


def load_state_in_place(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """`model.load_state_dict(state, strict=False)`, refusing a state that lacks a parameter or has extra keys
    (buffers a checkpoint need not hold are not required). A sharded model takes the full `state` (which every process
    holds) into its shards (`set_model_state_dict` with `full_state_dict`)."""
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        missing, unexpected = set_model_state_dict(  # (a copy: it puts the shards it makes into the dict it gets)
            model, dict(state), options=StateDictOptions(full_state_dict=True, strict=False))
    else:
        missing, unexpected = model.load_state_dict(state, strict=False)
    params = dict(model.named_parameters())
    missing = [k for k in missing if k in params]
    if missing or unexpected:
        raise LTHInputError(f"the weights of {source} do not fit the model (missing {missing[:5]}, "
                            f"unexpected {unexpected[:5]}).")


@contextmanager
def own_class(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """`model` with the class it had before FSDP2 sharded it, while the block runs.

    `fully_shard` gives a sharded model a class of its own (`FSDP<Name>`, a subclass of `FSDPModule` and of the
    model's class). `save_pretrained` would name that class in a remote-code model's `auto_map` and copy FSDP's own
    source files beside the ticket instead of the model's; under its own class it writes the folder a single process
    writes. A model that is not sharded is left as it is.
    """
    sharded_class = type(model)
    if not torch.distributed.is_available():
        yield model
        return
    from torch.distributed.fsdp import FSDPModule

    if not isinstance(model, FSDPModule):
        yield model
        return
    model.__class__ = next(cls for cls in sharded_class.__mro__ if not issubclass(cls, FSDPModule))
    try:
        yield model
    finally:
        model.__class__ = sharded_class
