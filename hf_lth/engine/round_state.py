"""`RoundState`: everything about the round being trained, in one object that the trainer hands down to the line's
method and to the callbacks (instead of attributes of the trainer that they reach back into)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..pruning.masks import TicketMask
    from ..rewinding import RoundPlan


def _no_plan() -> RoundPlan:
    from ..rewinding import RoundPlan

    return RoundPlan()


@dataclass
class RoundState:
    """One round: which it is, how it trains, the mask it trains under, and what it records.

    Args:
        index: the round (0: the dense round).
        mask: the mask the round trains under; a gradual-pruning round changes it while it trains (`set_mask`).
        control: the control's kind for a control round, else None.
        plan: how the round trains (`hf_lth.rewinding.RoundPlan`: Trainer argument overrides, schedule offset).
        seed: the seed the round trains with.
        capture: the optimizer steps whose weights the round keeps as rewind points (round 0).
        callbacks: Trainer callbacks of this round only (e.g. gradual pruning's), added for its `train()`.
        record: the line method's fields of the round's record (e.g. `gmp_steps`).

    What training observes is written back by `TicketMaskCallback` (and saved in Trainer checkpoints):
    `first_learning_rate`, `last_learning_rate`, and `elapsed_before_resume` (seconds the round ran before the
    checkpoint it resumed from). `sparsity` follows the mask.
    """

    index: int
    mask: TicketMask
    control: str | None = None
    plan: RoundPlan = field(default_factory=_no_plan)
    seed: int = 0
    capture: tuple[int, ...] = ()
    callbacks: list = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    first_learning_rate: float | None = None
    last_learning_rate: float | None = None
    elapsed_before_resume: float = 0.0
    sparsity: float = field(init=False)

    def __post_init__(self):
        self.sparsity = self.mask.sparsity()

    def detached(self, mask: TicketMask, seed: int, callbacks: list) -> RoundState:
        """A training beside this round (same index and plan), under `mask` with `seed` and `callbacks`: what a line
        method hands to `train_detached` (the early-bird search)."""
        return RoundState(self.index, mask, plan=self.plan, seed=seed, callbacks=callbacks)

    def set_mask(self, mask: TicketMask) -> None:
        """Train under `mask` from now on (the weights are the caller's to mask)."""
        self.mask = mask
        self.sparsity = mask.sparsity()
