"""Shrink a channel ticket: the same model class with the pruned units removed, loadable with `from_pretrained`.

TextCNN gets fewer filters per width (`num_filters`), TextRNN a smaller `hidden_size`, a BERT-family encoder a
smaller `intermediate_size`. Each needs the same count in every layer, which channel pruning keeps. Attention
heads cannot be removed in a model that `from_pretrained` loads: transformers 5 has no `prune_heads`, and its
configurations derive the head size from `hidden_size / num_attention_heads`, so a pruned head stays as zero
weights (its output is read by zero columns). `remove_heads=True` removes them anyway, for inference in this
process: the attention projections become smaller `nn.Linear`s (BERT's attention reshapes with -1 heads), and the
model no longer matches its configuration (keep it with `torch.save`, not `save_pretrained`).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import torch

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from .channel import set_units, unit_alive, unit_sets_in
from .units import UnitSet, find_unit_sets

logger = logging.getLogger(__name__)

NOT_SHRINKABLE = {"heads": "attention heads stay as zero weights (transformers' configurations cannot express "
                           "fewer heads of the same size)"}


@dataclass
class ShrinkResult:
    """The smaller model, the configuration fields it changed and what stayed masked instead of removed."""

    model: torch.nn.Module
    changed: dict[str, tuple[int, int]] = field(default_factory=dict)  # config field -> (before, after)
    kept_as_zeros: list[str] = field(default_factory=list)
    loadable: bool = True  # False once heads were removed: the configuration no longer describes the model


@torch.no_grad()
def shrink_model(model: torch.nn.Module, mask: TicketMask, remove_heads: bool = False) -> ShrinkResult:
    """A dense copy of `model` without the units that the channel mask `mask` prunes; it gives the same logits as
    `model` under `mask` (up to float rounding).

    Args:
        model: the ticket (its pruned weights may or may not be zero already).
        mask: a mask found with `lth_granularity channel` (whole units).
        remove_heads: also remove pruned attention heads (in memory only, see the module docstring).

    Returns:
        A `ShrinkResult`: the smaller model (in eval mode), the configuration fields it changed, and what stayed
        as zeros. Raises `LTHInputError` for a mask that is not unit-shaped or whose layers keep different
        numbers of units.
    """
    sets = unit_sets_in(mask, find_unit_sets(model))
    if not sets:
        raise LTHInputError("the mask covers no unit set of the model: was it found with lth_granularity channel?")
    alive = {s.name: unit_alive(mask, s) for s in sets}
    _check_unit_shaped(mask, sets, alive)
    state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    for name, m in mask.items():
        state[name].mul_(m.to(state[name].device, state[name].dtype))
    result = ShrinkResult(model=model)
    removals: dict[tuple[str, int], list[torch.Tensor]] = {}
    for kind in dict.fromkeys(s.kind for s in sets):
        of_kind = [s for s in sets if s.kind == kind]
        counts = {int(alive[s.name].sum()) for s in of_kind}
        if kind in NOT_SHRINKABLE and not remove_heads:
            if any(int(alive[s.name].sum()) < s.size for s in of_kind):
                result.kept_as_zeros.append(NOT_SHRINKABLE[kind])
            continue
        if len(counts) != 1:
            raise LTHInputError(f"cannot shrink: the {kind} of the model's layers keep different numbers of units "
                                f"({sorted(counts)}); a configuration holds one {kind}.")
        if kind in NOT_SHRINKABLE:
            result.loadable = False
        else:
            result.changed[kind] = (getattr(model.config, kind), counts.pop())
        for s in of_kind:
            dead = torch.nonzero(~alive[s.name]).flatten()
            for block in s.producers + s.readers + s.biases:
                removals.setdefault((block.param, block.dim), []).append(block.indices(dead).reshape(-1))
    for (name, dim), parts in removals.items():
        gone = torch.zeros(state[name].shape[dim], dtype=torch.bool)
        gone[torch.cat(parts)] = True
        state[name] = state[name].index_select(dim, torch.nonzero(~gone).flatten().to(state[name].device)).contiguous()
    config = copy.deepcopy(model.config)
    for kind, (_, after) in result.changed.items():
        setattr(config, kind, after)
    smaller = type(model)(config).to(next(model.parameters()).device)
    if not result.loadable:
        _resize_linears(smaller, state)
    smaller.load_state_dict(state, strict=True)
    smaller.eval()
    for note in result.kept_as_zeros:
        logger.info("shrink: %s.", note)
    result.model = smaller
    return result


def _resize_linears(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Replace each `nn.Linear` whose weight in `state` has another shape by one of that shape."""
    for name, module in list(model.named_modules()):
        weight = state.get(f"{name}.weight")
        if isinstance(module, torch.nn.Linear) and weight is not None and weight.shape != module.weight.shape:
            parent_name, _, child = name.rpartition(".")
            resized = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=module.bias is not None,
                                      device=weight.device, dtype=module.weight.dtype)
            setattr(model.get_submodule(parent_name), child, resized)


def _check_unit_shaped(mask: TicketMask, sets: list[UnitSet], alive: dict[str, torch.Tensor]) -> None:
    """The mask must be exactly what pruning the dead units gives (whole units, nothing else)."""
    rebuilt = {name: torch.ones_like(m, device="cpu") for name, m in mask.items()}
    for s in sets:
        set_units(rebuilt, s, torch.nonzero(~alive[s.name]).flatten(), False)
    differ = [name for name in mask if not torch.equal(rebuilt[name], mask[name].cpu())]
    if differ:
        raise LTHInputError(f"the mask prunes single weights of {differ[:3]}, not whole units: only a mask found with "
                            "lth_granularity channel can be shrunk.")
