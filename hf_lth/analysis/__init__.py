"""Analyses of finished experiment folders: how masks overlap, where they prune, which words survive.

Each reads the folders that `LTHTrainer` wrote (nothing is trained) and returns plain data that the CLI
`hf-lth-analyze` (`hf_lth.analysis.cli`) writes as JSON and PNG.
"""

from .masks import expected_random_iou, iou, line_masks, overlap_between_lines, overlap_between_seeds
from .vocabulary import embedding_row_survival

__all__ = [
    "embedding_row_survival",
    "expected_random_iou",
    "iou",
    "line_masks",
    "overlap_between_lines",
    "overlap_between_seeds",
]
