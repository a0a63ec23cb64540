"""The `Granularity` interface and its registry, and the unstructured granularity (weights pruned one by one)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from ..pruning.strategies import PRUNING_STRATEGIES, PruningStrategy, prune, random_mask_like

GRANULARITIES: dict[str, type[Granularity]] = {}


class Granularity:
    """How masks are shaped: which tensors they cover, how a round prunes, and the random control's mask.

    A granularity is a subclass registered in `GRANULARITIES` (with `register_granularity`, which refuses a name
    registered twice). It sets

    - `name`: its kind, e.g. `"channel"`; `spec`: how `--lth_granularity` writes it (`"N:M"` for `2:4`, `4:8`, ...);
    - `strategies`: the `--lth_strategy` values it prunes by (None: every registered strategy,
      `hf_lth.pruning.strategies`);
    - `shrinkable`: whether its tickets shrink into smaller dense models (`hf_lth.structure.shrink_model`);

    and implements `prune(strategy, weights, mask, fraction, seed)` and `random_like(mask, seed)`. Where the defaults
    do not fit it overrides `from_spec(spec)` (the instance for a `--lth_granularity` value of its kind, None for
    another kind; the default matches `name`), `bind(model)` (the instance for a model, e.g. with the model's units;
    itself by default), `prunable_names(model, scope)` (the scope itself by default), `describe(mask)` (what a round's
    record says about the mask's structure; nothing by default) and `max_sparsity` (the highest sparsity its masks
    reach; 1.0 by default).

    Every combination is checked before round 0: the strategy when the arguments are built (`check_granularity`),
    the model when the trainer binds the granularity to it (`get_granularity`).
    """

    name: ClassVar[str]
    spec: ClassVar[str | None] = None
    strategies: ClassVar[tuple[str, ...] | None] = None
    shrinkable: ClassVar[bool] = False

    @classmethod
    def from_spec(cls, spec: str) -> Granularity | None:
        """The instance for the `--lth_granularity` value `spec`, or None when `spec` is not of this kind."""
        return cls() if spec == cls.name else None

    @classmethod
    def supported_strategies(cls) -> list[str]:
        """The `--lth_strategy` values this granularity prunes by."""
        return list(PRUNING_STRATEGIES) if cls.strategies is None else list(cls.strategies)

    def check_strategy(self, strategy: str) -> str:
        """`strategy`, or an `LTHInputError` naming the strategies this granularity supports."""
        supported = self.supported_strategies()
        if strategy not in supported:
            raise LTHInputError(f"lth_granularity {self} prunes by {', '.join(supported)}: lth_strategy must be one "
                                f"of them, got '{strategy}'.")
        return strategy

    @property
    def max_sparsity(self) -> float:
        """The highest sparsity this granularity's masks reach (1.0: any)."""
        return 1.0

    def bind(self, model: torch.nn.Module | None) -> Granularity:
        """This granularity for `model` (an error where the model does not fit it)."""
        return self

    def prunable_names(self, model: torch.nn.Module, scope: list[str]) -> list[str]:
        """The masked tensors, given those `lth_prune_scope` selects (an error where the shape does not fit)."""
        return scope

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        """The next, nested mask: about `fraction` of the survivors removed, in this granularity's units."""
        raise NotImplementedError

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        """A random mask of `mask`'s structure and counts (the random-pruning control's mask)."""
        raise NotImplementedError

    def pruner(self, strategy: str) -> PruningStrategy:
        """`prune` by `strategy`, as a function of `(weights, mask, fraction, seed)`: what line methods and their
        callbacks are handed."""
        return functools.partial(self.prune, self.check_strategy(strategy))

    def describe(self, mask: TicketMask) -> dict[str, Any]:
        """Fields a round's record adds about the structure of its mask ({}: none beyond the per-layer sparsity)."""
        return {}

    def __str__(self) -> str:
        return self.name


def register_granularity(cls: type[Granularity]) -> type[Granularity]:
    """Register a `Granularity` subclass under its `name` (a class decorator).

    Raises:
        ValueError: the name is empty or registered already.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a `name`.")
    if name in GRANULARITIES:
        raise ValueError(f"lth_granularity {name!r} is registered already (by {GRANULARITIES[name].__name__}).")
    GRANULARITIES[name] = cls
    return cls


def parse_granularity(spec: str) -> Granularity:
    """The granularity that `--lth_granularity spec` names, not yet bound to a model.

    Raises:
        LTHInputError: `spec` names no registered granularity (the message lists how to write each).
    """
    for cls in GRANULARITIES.values():
        granularity = cls.from_spec(spec)
        if granularity is not None:
            return granularity
    choices = [cls.spec or cls.name for cls in GRANULARITIES.values()]
    listed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
    raise LTHInputError(f"lth_granularity must be {listed}, got '{spec}'.")


@register_granularity
class Unstructured(Granularity):
    """Weights pruned one by one by any registered strategy (`hf_lth.pruning.strategies`)."""

    name = "unstructured"

    def prune(self, strategy: str, weights: Mapping[str, torch.Tensor], mask: TicketMask, fraction: float,
              seed: int = 0) -> TicketMask:
        return prune(strategy, weights, mask, fraction, seed=seed)

    def random_like(self, mask: TicketMask, seed: int) -> TicketMask:
        return random_mask_like(mask, seed)
