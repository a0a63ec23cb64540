"""The `Control` interface and its registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import torch

    from ..pruning.masks import TicketMask
    from ..rewinding import Rewind
    from ..structure import Granularity

CONTROLS: dict[str, type[Control]] = {}


class Control:
    """A control round: the ticket's round trained again with one ingredient of the ticket replaced.

    A control is a subclass registered in `CONTROLS` (with `register_control`) that sets two class attributes and
    implements one method:

    - `name`: the control's `--lth_controls` value, e.g. `"random_pruning"`.
    - `seed_offset`: added to the round's seed, which keeps each control's random draws apart from the ticket's
      and the other controls'.
    - `start(ticket_mask, rewind, folder, index, model, seed, granularity)`: load the control's starting weights
      into `model` (in place) and return its mask (of the ticket's granularity, `hf_lth.structure`); the trainer
      then trains it exactly as the ticket's round was trained.
    """

    name: ClassVar[str]
    seed_offset: ClassVar[int]

    def start(self, ticket_mask: TicketMask, rewind: Rewind, folder, index: int, model: torch.nn.Module,
              seed: int, granularity: Granularity | None = None) -> TicketMask:
        """Load the control's starting weights into `model` and return the mask it trains under.

        Args:
            ticket_mask: the mask of the ticket of round `index`.
            rewind: the experiment's rewinding kind, which gives the starting weights.
            folder (ExperimentFolder): the experiment's folder.
            index: the round whose ticket is controlled.
            model: the model whose weights are replaced, in place.
            seed: the control's seed (the round's seed plus `seed_offset`).
            granularity: the ticket's granularity; None for unstructured.

        Returns:
            The control's mask, of the ticket's granularity.
        """
        raise NotImplementedError


def register_control(cls: type[Control]) -> type[Control]:
    CONTROLS[cls.name] = cls
    return cls
