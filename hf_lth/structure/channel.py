"""`channel` granularity: whole units (filters, hidden units, heads, FFN neurons) pruned together.

Each round removes the same fraction of the surviving units of every unit set (`hf_lth.structure.units`), those
with the smallest score: the mean |w| of the unit's producing weights (its kernel, gate rows, or query/key/value
rows: the L1 norm of Li et al., 2017, per weight, so that sets of different widths compare alike). Global and
layer-wise magnitude are therefore the same here; `random` draws the units at random. Pruning the same fraction in
every set keeps the counts equal across layers, which the configuration of a smaller model needs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from ..pruning.strategies import num_to_prune
from .base import Granularity, register_granularity
from .units import UnitSet, find_unit_sets


# The strategies channel pruning supports, each a score per unit (the lowest go first): by magnitude, global and
# layer-wise are the same here (every set loses the same fraction); `random` draws the units.
_UNIT_SCORES = {
    "global_magnitude": lambda weights, unit_set, seed, index: unit_scores(weights, unit_set),
    "layerwise_magnitude": lambda weights, unit_set, seed, index: unit_scores(weights, unit_set),
    "random": lambda weights, unit_set, seed, index: _random_scores(unit_set, seed, index),
}


@register_granularity
class ChannelGranularity(Granularity):
    """Prunes and draws masks unit by unit over the model's unit sets (`model`: found when given, or by `bind`)."""

    name = "channel"
    strategies = tuple(_UNIT_SCORES)
    shrinkable = True

    def __init__(self, model: torch.nn.Module | None = None):
        self.all_unit_sets = find_unit_sets(model) if model is not None else None

    def bind(self, model: torch.nn.Module | None) -> ChannelGranularity:
        """The granularity with `model`'s unit sets (an error for a model whose units it does not know)."""
        if model is None:
            raise LTHInputError("lth_granularity channel needs the model, to find its units.")
        return ChannelGranularity(model)

    def prunable_names(self, model: torch.nn.Module, scope: list[str]) -> list[str]:
        """The masked tensors: those of the unit sets whose producers are all in `scope`, in the model's order.
        Readers outside the scope join (their columns must go with the unit); other scope tensors stay dense."""
        chosen = [s for s in self.all_unit_sets if all(b.param in scope for b in s.producers)]
        if not chosen:
            raise LTHInputError(
                f"lth_granularity channel: lth_prune_scope leaves out the weights of every unit set "
                f"({', '.join(s.name for s in self.all_unit_sets[:4])}, ...)."
            )
        wanted = {param for s in chosen for param in s.masked_params}
        return [name for name, _ in model.named_parameters() if name in wanted]

    def unit_sets(self, mask: Mapping[str, torch.Tensor]) -> list[UnitSet]:
        """The unit sets that `mask` covers whole (those `prunable_names` chose)."""
        return unit_sets_in(mask, self.all_unit_sets)

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        """Remove `fraction` of the surviving units of each set (rounded per set)."""
        score = _UNIT_SCORES[self.check_strategy(strategy)]
        new = {name: m.clone() for name, m in mask.items()}
        for index, unit_set in enumerate(self.unit_sets(mask)):
            alive = unit_alive(mask, unit_set)
            survivors = torch.nonzero(alive).flatten()
            k = num_to_prune(fraction, len(survivors))
            if k == 0:
                continue
            scores = score(weights, unit_set, seed, index)
            order = torch.argsort(scores[survivors], stable=True)  # ties: the earliest unit goes first
            set_units(new, unit_set, survivors[order[:k]], False)
        return TicketMask(new)

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        """Random units, as many per set as `mask` keeps (the random-pruning control's mask)."""
        new = {name: torch.ones_like(m, device="cpu") for name, m in mask.items()}
        for index, unit_set in enumerate(self.unit_sets(mask)):
            kept = int(unit_alive(mask, unit_set).sum())
            order = torch.argsort(_random_scores(unit_set, seed, index), stable=True)
            set_units(new, unit_set, order[: unit_set.size - kept], False)
        return TicketMask(new)

    def units_kept(self, mask: TicketMask) -> dict[str, int]:
        """Units kept per set."""
        return {s.name: int(unit_alive(mask, s).sum()) for s in self.unit_sets(mask)}

    def describe(self, mask: TicketMask) -> dict[str, dict[str, int]]:
        """The units kept per set (`units_kept` in a round's record)."""
        return {"units_kept": self.units_kept(mask)}


def unit_sets_in(mask: Mapping[str, torch.Tensor], sets: list[UnitSet]) -> list[UnitSet]:
    """The sets whose producer and reader tensors are all in `mask`."""
    return [s for s in sets if all(param in mask for param in s.masked_params)]


def unit_alive(mask: Mapping[str, torch.Tensor], unit_set: UnitSet) -> torch.Tensor:
    """Which units keep any producing weight (bool, one per unit)."""
    alive = torch.zeros(unit_set.size, dtype=torch.bool)
    all_units = torch.arange(unit_set.size)
    for block in unit_set.producers:
        m = mask[block.param].cpu()
        rows = torch.movedim(m, block.dim, 0)[block.indices(all_units).reshape(-1)]
        alive |= rows.reshape(unit_set.size, -1).any(dim=1)
    return alive


def unit_scores(weights: Mapping[str, torch.Tensor], unit_set: UnitSet) -> torch.Tensor:
    """Mean |w| over each unit's producing weights (float64, one per unit)."""
    total = torch.zeros(unit_set.size, dtype=torch.float64)
    count = 0
    all_units = torch.arange(unit_set.size)
    for block in unit_set.producers:
        w = torch.movedim(weights[block.param].detach().cpu().double().abs(), block.dim, 0)
        rows = w[block.indices(all_units).reshape(-1)].reshape(unit_set.size, -1)
        total += rows.sum(dim=1)
        count += rows.shape[1]
    return total / count


def set_units(masks: dict[str, torch.Tensor], unit_set: UnitSet, units: torch.Tensor, value: bool) -> None:
    """Set the masks of `units` to `value` in every producer and reader block, in place."""
    if len(units) == 0:
        return
    for block in unit_set.producers + unit_set.readers:
        view = torch.movedim(masks[block.param], block.dim, 0)
        view[block.indices(units).reshape(-1)] = value


def _random_scores(unit_set: UnitSet, seed: int, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return torch.rand(unit_set.size, generator=generator, dtype=torch.float64)
