"""The `LineMethod` interface and its registry: how a line of pruned rounds finds the masks it trains under."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import LTHInputError

if TYPE_CHECKING:
    from ..engine.round_state import RoundState
    from ..pruning.masks import TicketMask

METHODS: dict[str, type[LineMethod]] = {}

# What a control round records as its method: it trains a fixed mask, as an IMP round does, whatever found the ticket.
CONTROL_RECORD = {"method": "imp"}


class LineMethod:
    """One way to find the masks of a line's pruned rounds (IMP, one-shot, GMP, early-bird).

    A method is a subclass registered in `METHODS` (with `register_method`, which refuses a name or a setting that
    another method has). It sets

    - `name`: its `--lth_method` value;
    - `settings`: a dataclass whose fields are its own flags, e.g. `lth_gmp_frequency` (None: it has none). The
      built-in methods' settings are fields of `LTHArguments`; a method registered later gets its flags by mixing
      its settings into a subclass of `LTHArguments` (`@dataclass class MyArguments(MySettings, LTHArguments)`).
      Its settings belong to the line's identity only when it is the line's method;
    - `needs_target_sparsity`: whether it prunes to `--lth_target_sparsity` (refused without one);
    - `record_name`: what the rounds it pruned record as their `method` (its `name` by default);
    - `restorable`: whether a mask it found once may stand in for finding it again: its `next_mask` reads nothing but
      the weights and mask the previous round ended with, and adds no callbacks or record fields. The engine then
      keeps each pruned round's mask while the round trains (its pending mask), which is what lets a line go on
      from its published records once its run folder is gone (`hf_lth.engine.restore`);

    and implements `next_mask(engine, round)`: the mask that pruned round `round.index` trains under, found from the
    weights the previous round ended with (before the survivors are rewound). `round` is the round's `RoundState`
    (`index`, `plan`, `seed`, ...): the method may add Trainer callbacks for the round to `round.callbacks` and
    fields of its record to `round.record`. `engine` is the `LTHTrainer`, of which a method uses `args`, `mask`
    (the mask the previous round ended with), `initial_mask`, `pruner` (`lth_strategy` at `lth_granularity`:
    `pruner(weights, mask, fraction, seed)`), `prunable_weights()`, `granularity`, `rewind`, `folder`, `masker`
    (the callback that keeps the round's mask; `masker.change_mask(mask, model)` changes it while the round
    trains), `round_steps(plan)`, `load_weights(state, what)` and `train_detached(round, output_dir)`.

    Where the defaults do not fit it overrides `check(args)` (argument checks when it is chosen),
    `check_settings(args)` (checks of its own flags, whatever the method), `num_rounds(args)` (one pruned round by
    default), `prune_fraction(args, index)`, `line_record(args)` (how every round of the line says it prunes:
    `prune_rate` and `prune_schedule`), `identity(settings)` (drop settings that change nothing it computes) and
    `resumed_mask(checkpoint)` (the mask a pruned round had reached in a Trainer checkpoint, for a method whose mask
    changes while the round trains).

    Args:
        args: the line's `LTHArguments`; `self.settings` is then an instance of the settings dataclass.
    """

    name: ClassVar[str]
    settings_class: ClassVar[type | None] = None
    needs_target_sparsity: ClassVar[bool] = False
    record_name: ClassVar[str | None] = None
    restorable: ClassVar[bool] = False
    help: ClassVar[str] = ""

    def __init__(self, args: Any):
        self.args = args
        self.settings = settings_of(type(self), args)

    # ------------------------------------------------------------------ arguments

    @classmethod
    def check(cls, args: Any) -> None:
        """Refuse arguments that do not combine with this method (called when it is the line's method)."""
        if cls.needs_target_sparsity and args.lth_target_sparsity is None:
            raise LTHInputError(f"lth_method {cls.name} needs lth_target_sparsity (the sparsity it reaches).")

    @classmethod
    def check_settings(cls, args: Any) -> None:
        """Refuse bad values of this method's own flags (called for every method, like argparse's checks)."""

    @classmethod
    def setting_names(cls) -> list[str]:
        """This method's own flags."""
        return [f.name for f in dataclasses.fields(cls.settings_class)] if cls.settings_class else []

    def num_rounds(self) -> int:
        """Pruned rounds after round 0."""
        return 1

    def prune_fraction(self, index: int) -> float:
        """The fraction of the survivors that pruned round `index` (>= 1) removes, on the line's schedule: the rate
        itself on the geometric schedule; on the linear one, the share of the survivors that is `rate` of the
        original weights."""
        schedule, rate = self.args.schedule_and_rate()
        if schedule == "linear":
            return rate / (1.0 - rate * (index - 1))
        return rate

    # ------------------------------------------------------------------ records

    def line_record(self) -> dict[str, Any]:
        """How every round of the line (round 0 and the controls included) records that it prunes."""
        return {"prune_rate": self.args.lth_prune_rate, "prune_schedule": self.args.lth_prune_schedule}

    def round_record(self, round: RoundState) -> dict[str, Any]:
        """The method fields of pruned round `round.index`'s record."""
        return {"method": self.record_name or self.name, **round.record}

    @classmethod
    def identity(cls, settings: dict[str, Any]) -> None:
        """Remove, in place, the settings of the line's identity that change nothing this method computes."""

    # ------------------------------------------------------------------ rounds

    def next_mask(self, engine: Any, round: RoundState) -> TicketMask:
        """The mask pruned round `round.index` trains under (see the class docstring)."""
        raise NotImplementedError

    def resumed_mask(self, checkpoint: str) -> TicketMask | None:
        """The mask a pruned round had reached when Trainer wrote `checkpoint` (None: the mask it started with)."""
        return None


def settings_of(method: type[LineMethod], args: Any) -> Any:
    """The method's settings dataclass filled from `args` (its defaults where `args` lacks a field)."""
    if method.settings_class is None:
        return None
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(method.settings_class) if hasattr(args, f.name)}
    return method.settings_class(**values)


def register_method(cls: type[LineMethod]) -> type[LineMethod]:
    """Register a `LineMethod` subclass under its `name` (a class decorator).

    Raises:
        ValueError: the name is empty or registered already, or one of its settings is another method's.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a `name` (its --lth_method value).")
    if name in METHODS:
        raise ValueError(f"lth_method {name!r} is registered already (by {METHODS[name].__name__}).")
    if cls.settings_class is not None and not dataclasses.is_dataclass(cls.settings_class):
        raise ValueError(f"{cls.__name__}.settings_class must be a dataclass of its flags.")
    for other in METHODS.values():
        shared = set(cls.setting_names()) & set(other.setting_names())
        if shared:
            raise ValueError(f"lth_method {name!r}: settings {sorted(shared)} are already those of lth_method "
                             f"{other.name!r}.")
    METHODS[name] = cls
    return cls


def get_method(name: str) -> type[LineMethod]:
    """The method registered as `name` (an `LTHInputError` listing the choices if there is none)."""
    if name not in METHODS:
        raise LTHInputError(f"lth_method must be one of {', '.join(METHODS)}, got '{name}'.")
    return METHODS[name]


def method_setting_names() -> set[str]:
    """Every registered method's own flags."""
    return {name for method in METHODS.values() for name in method.setting_names()}
