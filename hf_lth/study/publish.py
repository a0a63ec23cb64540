"""Publish a study's records: what a reader needs to check every figure, without the weights.

For each seed, `output` -> `results`: the experiment's settings (`lth_experiment.json`), each line's
`lth_results.json`, `report.md` and plots, and every round's and control's per-example predictions as
`predictions/round_XX.safetensors` and `predictions/KIND_round_XX.safetensors` (the trunk's round 0 under the
main line); with `publish_masks`, the main line's state too (packed masks and the digest of its initial weights,
`hf_lth.engine.line_state`). Files are copied only where they changed, so publishing a running study is cheap and
safe (rounds appear whole or not at all).
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from ..storage.folder import ExperimentFolder
from ..storage.paths import BRANCHES_PLOT_FILE, PLOT_FILE, REPORT_FILE, RESULTS_FILE
from .spec import Study

_LINE_FILES = (RESULTS_FILE, REPORT_FILE, PLOT_FILE, BRANCHES_PLOT_FILE)


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
        written += _copy(ExperimentFolder(source).settings_path, ExperimentFolder(target).settings_path)
        branches = [None] + ExperimentFolder(source).branch_names()
        for branch in branches:
            folder, out = ExperimentFolder(source, branch), ExperimentFolder(target, branch)
            if study.publish_masks and branch is None:  # first: records never name a round whose mask is missing
                from ..engine.line_state import publish_line_state  # (torch: only for a study that publishes masks)

                written += publish_line_state(folder, out)
            for index in folder.finished_rounds():
                if index == 0 and branch is not None:
                    continue  # the trunk's, published with the main line
                written += _copy(folder.predictions_path(index), out.published_predictions_path(index))
            for kind in folder.control_names():
                for index in folder.finished_rounds(kind):
                    written += _copy(folder.predictions_path(index, kind), out.published_predictions_path(index, kind))
            for name in _LINE_FILES:  # last: the records name only rounds whose files are published
                written += _copy(folder.base / name, out.base / name)
    return written


def _copy(source: Path, target: Path) -> list[Path]:
    if not source.is_file() or (target.is_file() and filecmp.cmp(source, target, shallow=False)):
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return [target]
