"""`step:K`: late rewinding (Frankle et al., 2020; open_lth).

Survivors go back to their values after optimizer step K of round 0; the round then trains the remaining
T - K steps of round 0's T, with the learning-rate schedule continuing from step K. The optimizer's moments
start fresh, as in open_lth (only the weights are rewound). The data order of the round is that of a fresh
`train()` with the round's seed, not the continuation of round 0's order (Trainer offers no clean way to start
a data loader mid-epoch without resuming a checkpoint).
"""

from __future__ import annotations

from ..errors import LTHInputError
from .base import RoundPlan, register_rewind
from .init import RewindToInit


@register_rewind
class RewindToStep(RewindToInit):
    name = "step"

    @classmethod
    def from_spec(cls, spec: str):
        value = spec.split(":", 1)[1] if ":" in spec else ""
        if not value.isdigit():
            return None
        step = int(value)
        return RewindToInit() if step == 0 else cls(step)

    def plan(self, round0, args):
        total = round0["train_steps"]
        if self.step >= total:
            raise LTHInputError(f"lth_rewind step:{self.step} is beyond round 0, which took {total} steps.")
        return RoundPlan(overrides={"max_steps": total - self.step}, schedule_offset=self.step)

    def __str__(self) -> str:
        return f"step:{self.step}"
