"""`init`: survivors back to their values at initialisation, full schedule (Frankle & Carbin, 2019)."""

from __future__ import annotations

from .base import Rewind, register_rewind


@register_rewind
class RewindToInit(Rewind):
    name = "init"

    @classmethod
    def from_spec(cls, spec: str) -> Rewind | None:
        return cls() if spec == "init" else None

    def rewind_steps(self) -> tuple[int, ...]:
        return (self.step,)

    def start_state(self, folder, index):
        return folder.read_rewind_point(self.step)
