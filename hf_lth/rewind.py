"""Rewind specifications: where the surviving weights restart from after each pruning step."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LTHInputError

REWIND_CHOICES = ("init", "step:K", "lr", "finetune")


@dataclass(frozen=True)
class RewindSpec:
    """`init`: weights at step 0; `step`: weights after optimizer step `step` of round 0 (late rewinding);
    `lr`: keep the trained weights and replay the learning-rate schedule (Renda et al., 2020);
    `finetune`: keep the trained weights and train on at round 0's final learning rate.
    """

    kind: str
    step: int = 0

    @property
    def rewinds_weights(self) -> bool:
        return self.kind in ("init", "step")

    def __str__(self) -> str:
        return f"step:{self.step}" if self.kind == "step" else self.kind


def parse_rewind(spec: str) -> RewindSpec:
    spec = spec.strip()
    if spec in ("init", "lr", "finetune"):
        return RewindSpec(spec)
    if spec.startswith("step:"):
        value = spec.split(":", 1)[1]
        if value.isdigit():
            step = int(value)
            return RewindSpec("init") if step == 0 else RewindSpec("step", step)
    raise LTHInputError(f"unknown lth_rewind '{spec}'; choose one of {', '.join(REWIND_CHOICES)} (K a step >= 0).")
