"""The `Rewind` interface and its registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import LTHInputError

if TYPE_CHECKING:
    import torch

    from ..storage.folder import ExperimentFolder

REWINDS: dict[str, type[Rewind]] = {}


@dataclass(frozen=True)
class RoundPlan:
    """How a pruned round trains: Trainer argument overrides, and the optimizer step its learning-rate schedule
    starts at (0: from the beginning; K: the schedule of round 0 continued from step K)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    schedule_offset: int = 0


class Rewind:
    """One rewinding kind. Subclasses set `name` and override what differs from "rewind to a stored point".

    A pruned round `r` starts from `start_state(folder, r)` with the new mask multiplied in, and trains as
    `plan(round0_record, args)` says. The random-pruning control of round `r` starts from
    `control_start_state(folder, r)` under a random mask of the ticket's per-tensor sparsity.

    A subclass, registered in `REWINDS` (with `register_rewind`), sets `name` (the `--lth_rewind` kind) and
    implements:

    - `from_spec(spec)` (a classmethod): the instance for a `--lth_rewind` value of its kind, or None when the
      value is not one (the default returns `cls()`).
    - `start_state(folder, index)`: the weights pruned round `index` starts from, before its mask is applied
      (required).

    and, where the defaults do not fit, overrides `rewind_steps()` (the steps of round 0 to keep, none by
    default), `control_start_state(folder, index)` (the ticket's own start by default) and
    `plan(round0, args)` (train as round 0 did, by default).

    Args:
        step: the optimizer step of round 0 that `step:K` rewinds the survivors to; 0 for the other kinds.
    """

    name: ClassVar[str]
    # Why this kind runs no controls (None: it does). A control must follow the paper of its line: a kind whose
    # paired control would need a schedule hf_lth does not implement says so, and the controls are refused.
    controls_refused: ClassVar[str | None] = None

    def __init__(self, step: int = 0):
        self.step = step

    @classmethod
    def from_spec(cls, spec: str) -> Rewind:
        return cls()

    def rewind_steps(self) -> tuple[int, ...]:
        """Optimizer steps of round 0 whose weights this kind needs kept (the rewind points)."""
        return ()

    def start_state(self, folder: ExperimentFolder, index: int) -> dict[str, torch.Tensor]:
        """The weights pruned round `index` starts from, before its mask is applied."""
        raise NotImplementedError

    def control_start_state(self, folder: ExperimentFolder, index: int) -> dict[str, torch.Tensor]:
        """The weights the random-pruning control of round `index` starts from (the ticket's own, by default)."""
        return self.start_state(folder, index)

    def plan(self, round0: dict[str, Any], args: Any) -> RoundPlan:
        """How a pruned round trains; `round0` is the dense round's record."""
        return RoundPlan()

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rewind) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def register_rewind(cls: type[Rewind]) -> type[Rewind]:
    REWINDS[cls.name] = cls
    return cls


def parse_rewind(spec: str) -> Rewind:
    """The `Rewind` for a `--lth_rewind` value: `init`, `step:K`, `lr` or `finetune` (`step:0` is `init`).

    Args:
        spec: the `--lth_rewind` value; surrounding whitespace is ignored.

    Returns:
        A new instance of the rewinding kind.

    Raises:
        LTHInputError: the value names no rewinding kind (the message lists the choices).
    """
    spec = spec.strip()
    kind = spec.split(":", 1)[0]
    if kind in REWINDS:
        rewind = REWINDS[kind].from_spec(spec)
        if rewind is not None:
            return rewind
    choices = ", ".join("step:K" if name == "step" else name for name in REWINDS)
    raise LTHInputError(f"unknown lth_rewind '{spec}'; choose one of {choices} (K a step >= 0).")

