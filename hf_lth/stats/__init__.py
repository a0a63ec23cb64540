"""Statistics of lottery-ticket results: intervals over test examples and seeds, paired tests, the verdicts."""

from .intervals import Interval, example_interval, paired_difference, seed_interval
from .verdicts import beats_control, is_degenerate, matches_dense

__all__ = ["Interval", "example_interval", "paired_difference", "seed_interval", "beats_control", "is_degenerate",
           "matches_dense"]
