"""The experiment folder: where each round's ticket, the rewind point and the results live.

A round is finished when its folder exists under its final name (it is written elsewhere and renamed), so a
run that is started again on the same folder skips finished rounds and continues. What a killed run leaves
behind (dot-named temporary files and folders, Trainer checkpoints of rounds that finished, a checkpoint
whose writing was cut short) is removed when the folder is claimed again, before any round runs.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from .errors import LTHInputError
from .io import is_temporary_name, remove_path, write_json_atomic
from .masks import MASK_FILE

SETTINGS_FILE = "lth_experiment.json"
RESULTS_FILE = "lth_results.json"
REWIND_FILE = "rewind_point.safetensors"
TRAINER_STATE_FILE = "trainer_state.json"  # Trainer writes it last into a checkpoint folder
_ROUND_DIR = re.compile(r"^round_(\d{2,})$")
_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")


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
        """Record the experiment's settings; refuse a folder that holds an experiment with other settings.

        A folder "holds" an experiment when a round or control finished there, or a Trainer checkpoint was
        completed: then another experiment is refused unless `overwrite`. A folder whose experiment got no further
        (e.g. a run that stopped on a bad flag after round 0 trained) holds nothing that a new run could mix up
        or that would be costly to lose, so another experiment takes it over.
        """
        path = self.root / SETTINGS_FILE
        if self.root.exists() and not self.root.is_dir():
            raise LTHInputError(f"output_dir {self.root} is a file, not a folder.")
        if path.is_file():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(previous, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as err:
                if not overwrite:
                    raise LTHInputError(
                        f"output_dir {self.root} has an unreadable {SETTINGS_FILE} ({err}); "
                        "use another output_dir, or --overwrite_output_dir to start over."
                    ) from err
                previous = {}
            changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
            if changed and not overwrite and self.holds_results():
                details = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
                raise LTHInputError(
                    f"output_dir {self.root} holds an experiment with other settings ({details}); "
                    "use another output_dir, or --overwrite_output_dir to start over."
                )
            if changed:
                self.clear()
        elif overwrite:
            self.clear()
        self.remove_leftovers()
        write_json_atomic(path, settings)

    def holds_results(self) -> bool:
        """True when a round or control finished here, or a Trainer checkpoint was completed."""
        if self.finished_rounds() or any(self.finished_rounds(kind.name) for kind in self._control_roots()):
            return True
        checkpoints = self.root / "checkpoints"
        return checkpoints.is_dir() and any(
            _CHECKPOINT_DIR.match(c.name) and not _is_incomplete_checkpoint(c)
            for round_dir in checkpoints.iterdir() if round_dir.is_dir() for c in round_dir.iterdir()
        )

    def clear(self) -> None:
        """Remove everything an earlier experiment wrote here.

        Each folder is renamed aside before it is deleted, so a crash midway never leaves a partial round under
        its final name; the settings file goes last, so an interrupted clear is still refused or cleared again.
        """
        for name in ("controls", "checkpoints"):
            remove_path(self.root / name)
        for index in self.finished_rounds():
            remove_path(self.round_dir(index))
        for name in (RESULTS_FILE, REWIND_FILE, SETTINGS_FILE):
            (self.root / name).unlink(missing_ok=True)
        self.remove_leftovers()

    def remove_leftovers(self) -> list[Path]:
        """Remove what killed runs leave behind; return the removed paths.

        - temporary files and folders of `atomic_path` / `atomic_dir` (`.NAME.tmp-PID`, `.NAME.old-PID`), which
          are never read: a round, mask, rewind point or results file exists under its final name or not at all;
        - Trainer checkpoints of rounds (and controls) that finished, which their ticket replaced;
        - checkpoint folders without their `trainer_state.json` (Trainer writes it last), so that a round cut
          short while a checkpoint was written resumes from the last complete one, not from the broken one.
        """
        removed = []
        for base in [self.root, *self._control_roots()]:
            if base.is_dir():
                for child in base.iterdir():
                    if is_temporary_name(child.name):
                        removed.append(child)
        checkpoints = self.root / "checkpoints"
        if checkpoints.is_dir():
            finished = {self.checkpoint_dir(i).name for i in self.finished_rounds()}
            for kind_root in self._control_roots():
                finished |= {self.checkpoint_dir(i, kind_root.name).name for i in self.finished_rounds(kind_root.name)}
            for round_dir in checkpoints.iterdir():
                if is_temporary_name(round_dir.name) or round_dir.name in finished:
                    removed.append(round_dir)
                elif round_dir.is_dir():
                    removed.extend(c for c in round_dir.iterdir() if _is_incomplete_checkpoint(c))
        for path in removed:
            if is_temporary_name(path.name):
                _delete(path)  # already outside any final name
            else:
                remove_path(path)
        return removed

    def last_complete_checkpoint(self, index: int, control: str | None = None) -> str | None:
        """The newest Trainer checkpoint of a round whose `trainer_state.json` was fully written, or None."""
        folder = self.checkpoint_dir(index, control)
        if not folder.is_dir():
            return None
        complete = [
            (int(m.group(1)), child)
            for child in folder.iterdir()
            if (m := _CHECKPOINT_DIR.match(child.name)) and child.is_dir() and not _is_incomplete_checkpoint(child)
        ]
        return str(max(complete)[1]) if complete else None

    def _control_roots(self) -> list[Path]:
        root = self.root / "controls"
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and not is_temporary_name(p.name))

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


def _is_incomplete_checkpoint(folder: Path) -> bool:
    """A `checkpoint-N` folder whose trainer_state.json (written last by Trainer) is missing or unreadable."""
    if not (_CHECKPOINT_DIR.match(folder.name) and folder.is_dir()):
        return False
    try:
        json.loads((folder / TRAINER_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return False


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
