"""Find the per-example predictions of a round, in an experiment folder or in its published copy.

An experiment folder keeps them in each round folder (`round_XX/lth_predictions.safetensors`, controls under
`controls/KIND/round_XX/`); a published copy (`hf-lth-study publish`) keeps them as
`predictions/round_XX.safetensors` and `predictions/KIND_round_XX.safetensors`. A branch's round 0 is the trunk's,
found beside the main line in both layouts.
"""

from __future__ import annotations

from pathlib import Path

from ..storage.folder import BRANCHES_DIR, ExperimentFolder
from ..storage.predictions import SplitPredictions, load_predictions


def line_root(folder: str | Path, branch: str | None) -> Path:
    """The experiment's root folder, from a line's folder (a branch's is `ROOT/branches/NAME`)."""
    folder = Path(folder)
    if branch and folder.parent.name == BRANCHES_DIR and folder.name == branch:
        return folder.parent.parent
    return folder


def predictions_path(folder: str | Path, branch: str | None, index: int, control: str | None = None) -> Path | None:
    """The predictions file of round `index` (or of its `control`) of the line in `folder`; None if none is kept."""
    folder = Path(folder)
    root = line_root(folder, branch)
    experiment = ExperimentFolder(root, branch)
    published = experiment.published_predictions_path(index, control)
    for candidate in (experiment.predictions_path(index, control), published):
        if candidate.is_file():
            return candidate
    return None


def round_predictions(folder: str | Path, branch: str | None, index: int,
                      control: str | None = None) -> dict[str, SplitPredictions] | None:
    """The predictions of a round (split -> `SplitPredictions`), or None where the round kept none."""
    path = predictions_path(folder, branch, index, control)
    return load_predictions(path) if path is not None else None
