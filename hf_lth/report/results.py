"""An experiment's results as its folder holds them: the main line's `lth_results.json` and each branch's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..storage.folder import ExperimentFolder


def load_branches(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The results of each branch of the experiment in `folder` (name -> results)."""
    return {name: json.loads(line.results_path.read_text(encoding="utf-8"))
            for name, line in ExperimentFolder(folder).branch_folders().items() if line.results_path.is_file()}


def load_results(folder: str | Path) -> dict[str, Any]:
    path = ExperimentFolder(folder).results_path
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {folder} the output_dir of a finished experiment?")
    return json.loads(path.read_text(encoding="utf-8"))
