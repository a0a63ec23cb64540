"""Controls: the experiments that ask "is the ticket special?", each one small `Control` in its own module."""

from .base import CONTROLS, Control, register_control
from .random_pruning import RandomPruning
from .random_reinit import RandomReinit

__all__ = ["CONTROLS", "Control", "RandomPruning", "RandomReinit", "register_control"]
