"""Publish a study's records: what a reader needs to check every figure, without the weights.

For each seed, `output` -> `results`: the experiment's settings (`lth_experiment.json`), each line's
`lth_results.json`, `report.md` and plots, and every round's and control's per-example predictions as
`predictions/round_XX.safetensors` and `predictions/KIND_round_XX.safetensors` (the trunk's round 0 under the
main line). Files are copied only where they changed, so publishing a running study is cheap and safe (rounds
appear whole or not at all).
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from ..experiment import BRANCHES_DIR, CONTROLS_DIR, RESULTS_FILE, SETTINGS_FILE, ExperimentFolder, round_name
from ..predictions import PREDICTIONS_FILE
from .spec import Study

_LINE_FILES = (RESULTS_FILE, "report.md", "accuracy_vs_sparsity.png", "branches.png")


def publish_study(study: Study, seeds: list[int] | None = None) -> list[Path]:
    """Copy the records of `study`'s seeds into its `results` folders; return the files written.

    Args:
        study: the study (its `results` must be set).
        seeds: only these seeds (None: all).

    Returns:
        The files copied (new or changed).
    """
    written: list[Path] = []
    if study.results is None:
        return written
    for seed in study.seeds:
        if seeds is not None and seed not in seeds:
            continue
        source, target = study.output_dir(seed), study.results_dir(seed)
        if not source.is_dir():
            continue
        written += _copy(source / SETTINGS_FILE, target / SETTINGS_FILE)
        branches = [None] + ExperimentFolder(source).branch_names()
        for branch in branches:
            folder = ExperimentFolder(source, branch)
            out = target if branch is None else target / BRANCHES_DIR / branch
            for name in _LINE_FILES:
                written += _copy(folder.base / name, out / name)
            for index in folder.finished_rounds():
                if index == 0 and branch is not None:
                    continue  # the trunk's, published with the main line
                written += _copy(folder.round_dir(index) / PREDICTIONS_FILE,
                                 out / "predictions" / f"{round_name(index)}.safetensors")
            controls = folder.base / CONTROLS_DIR
            for kind in sorted(p.name for p in controls.iterdir()) if controls.is_dir() else []:
                for index in folder.finished_rounds(kind):
                    written += _copy(folder.round_dir(index, kind) / PREDICTIONS_FILE,
                                     out / "predictions" / f"{kind}_{round_name(index)}.safetensors")
    return written


def _copy(source: Path, target: Path) -> list[Path]:
    if not source.is_file() or (target.is_file() and filecmp.cmp(source, target, shallow=False)):
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return [target]
