"""Rewinding kinds: where the survivors of a pruned round start from, and how that round trains.

Each kind is one small `Rewind` subclass in its own module, registered under its name; adding a kind is one
file. `parse_rewind("step:200")` gives the object for a `--lth_rewind` value.
"""

from .base import REWINDS, Rewind, RoundPlan, parse_rewind, register_rewind
from .init import RewindToInit  # noqa: I001 (registration order is the order choices are listed in)
from .step import RewindToStep
from .lr import LearningRateRewind
from .finetune import FineTune

__all__ = ["REWINDS", "FineTune", "LearningRateRewind", "Rewind", "RewindToInit", "RewindToStep", "RoundPlan",
           "parse_rewind", "register_rewind"]
