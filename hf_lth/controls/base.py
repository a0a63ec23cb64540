"""The `Control` interface and its registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import torch

    from ..masks import TicketMask
    from ..rewinding import Rewind
    from ..structure import Granularity

CONTROLS: dict[str, type[Control]] = {}


class Control:
    """A control round: the ticket's round trained again with one ingredient of the ticket replaced.

    `start(ticket_mask, rewind, folder, index, model, seed, granularity)` loads the control's starting weights into
    `model` (in place) and returns its mask (of the ticket's granularity, `hf_lth.structure`); the trainer then trains it exactly as the ticket's round was trained. `seed_offset`
    keeps each control's random draws apart from the ticket's and the other controls'.
    """

    name: ClassVar[str]
    seed_offset: ClassVar[int]

    def start(self, ticket_mask: TicketMask, rewind: Rewind, folder, index: int, model: torch.nn.Module,
              seed: int, granularity: Granularity | None = None) -> TicketMask:
        raise NotImplementedError


def register_control(cls: type[Control]) -> type[Control]:
    CONTROLS[cls.name] = cls
    return cls
