"""The experiment folder: where each round's ticket, the rewind point and the results live.

A round is finished when its folder exists under its final name (it is written elsewhere and renamed), so a
run that is started again on the same folder skips finished rounds and continues.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from .errors import LTHInputError
from .io import write_json_atomic
from .masks import MASK_FILE

SETTINGS_FILE = "lth_experiment.json"
RESULTS_FILE = "lth_results.json"
REWIND_FILE = "rewind_point.safetensors"
_ROUND_DIR = re.compile(r"^round_(\d{2,})$")


def round_name(index: int) -> str:
    return f"round_{index:02d}"


class ExperimentFolder:
    """Paths and bookkeeping of one experiment under `root` (the Trainer's `output_dir`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def rewind_path(self) -> Path:
        return self.root / REWIND_FILE

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS_FILE

    def round_dir(self, index: int, control: str | None = None) -> Path:
        base = self.root if control is None else self.root / "controls" / control
        return base / round_name(index)

    def checkpoint_dir(self, index: int, control: str | None = None) -> Path:
        tag = round_name(index) if control is None else f"{control}_{round_name(index)}"
        return self.root / "checkpoints" / tag

    def finished_rounds(self, control: str | None = None) -> list[int]:
        base = self.root if control is None else self.root / "controls" / control
        if not base.is_dir():
            return []
        found = []
        for child in base.iterdir():
            match = _ROUND_DIR.match(child.name)
            if match and (child / "config.json").is_file() and (child / MASK_FILE).is_file():
                found.append(int(match.group(1)))
        return sorted(found)

    def record(self, index: int, control: str | None = None) -> dict[str, Any]:
        """The `lth` block of a finished round's config.json."""
        with open(self.round_dir(index, control) / "config.json", encoding="utf-8") as handle:
            return json.load(handle)["lth"]

    def claim(self, settings: dict[str, Any], overwrite: bool = False) -> None:
        """Record the experiment's settings; refuse a folder that holds an experiment with other settings."""
        path = self.root / SETTINGS_FILE
        if path.is_file():
            with open(path, encoding="utf-8") as handle:
                previous = json.load(handle)
            changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
            if changed and not overwrite:
                details = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
                raise LTHInputError(
                    f"output_dir {self.root} holds an experiment with other settings ({details}); "
                    "use another output_dir, or --overwrite_output_dir to start over."
                )
            if changed:
                self.clear()
        elif overwrite:
            self.clear()
        write_json_atomic(path, settings)

    def clear(self) -> None:
        """Remove everything an earlier experiment wrote here."""
        for name in ("controls", "checkpoints"):
            shutil.rmtree(self.root / name, ignore_errors=True)
        for index in self.finished_rounds():
            shutil.rmtree(self.round_dir(index), ignore_errors=True)
        for name in (RESULTS_FILE, REWIND_FILE, SETTINGS_FILE):
            (self.root / name).unlink(missing_ok=True)

    def collect_results(self, selection_metric: str = "accuracy") -> dict[str, Any]:
        """Rebuild `lth_results.json` from the finished round folders (the single source of truth)."""
        rounds = [self.record(i) for i in self.finished_rounds()]
        controls_root = self.root / "controls"
        controls = {}
        if controls_root.is_dir():
            for kind_dir in sorted(p for p in controls_root.iterdir() if p.is_dir()):
                controls[kind_dir.name] = [self.record(i, kind_dir.name) for i in self.finished_rounds(kind_dir.name)]
        settings_path = self.root / SETTINGS_FILE
        settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
        best = select_best_round(rounds, f"eval_{selection_metric}")
        results = {
            "experiment": settings,
            "selection_metric": f"eval_{selection_metric}",
            "best_round": best,
            "rounds": rounds,
            "controls": controls,
        }
        write_json_atomic(self.results_path, results)
        return results


def select_best_round(rounds: list[dict[str, Any]], metric: str) -> int | None:
    """The pruned round with the highest validation `metric` (ties: the sparser); round 0 if none is pruned.

    Selection never looks at test metrics.
    """
    candidates = [r for r in rounds if r["round"] > 0 and metric in r] or [r for r in rounds if metric in r]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r[metric], r["sparsity"]))["round"]
