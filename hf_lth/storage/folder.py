"""The experiment folder: the single owner of the on-disk layout of an experiment, its trunk and its branches.

    OUTPUT_DIR/
      lth_experiment.json        identity: {"trunk": settings of round 0, "main": settings of the main line}
      round_00/                  the trunk: the dense round (a ticket folder), shared by every branch
      rewind_points/step_000000.safetensors ...   weights of round 0 kept at the candidate rewind steps
      round_01/ ... controls/KIND/round_XX/ lth_results.json checkpoints/    the main line
      pending_masks/round_02.safetensors   the mask of the pruned round being trained, until its folder exists
      branches/NAME/             a branch: lth_branch.json, round_01/ ..., controls/, lth_results.json, checkpoints/

A round is finished when its folder exists under its final name (it is written elsewhere and renamed), so a
run that is started again on the same folder skips finished rounds and continues. What a killed run leaves
behind (dot-named temporary files and folders, Trainer checkpoints of rounds that finished, a checkpoint
whose writing was cut short) is removed when the folder is claimed again, before any round runs.

The names of the files and folders are in `hf_lth.storage.paths`; `ExperimentFolder` joins them into paths, and
nothing else in hf_lth builds a path into an experiment. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import LTHInputError
from .atomic import atomic_dir, atomic_path, is_temporary_name, remove_path, write_json_atomic
from .paths import (  # noqa: F401  (the names of an experiment folder, importable from here as before)
    BRANCH_FILE,
    BRANCHES_DIR,
    BRANCHES_PLOT_FILE,
    CHECKPOINT_PREFIX,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    CONTROLS_DIR,
    COMPACT_WEIGHTS_FILE,
    DENSE_WEIGHTS_FILE,
    INITIAL_WEIGHTS_FILE,
    LOG_HISTORY_FILE,
    MASK_FILE,
    PENDING_MASKS_DIR,
    PLOT_FILE,
    PREDICTIONS_FILE,
    PUBLISHED_MASKS_DIR,
    PUBLISHED_PENDING_DIR,
    PUBLISHED_PREDICTIONS_DIR,
    PUBLISHED_STATE_DIR,
    REPORT_FILE,
    RESTORED_FILE,
    RESULTS_FILE,
    REWIND_DIR,
    SEARCH_DIR,
    SETTINGS_FILE,
    TRAINER_STATE_FILE,
    checkpoint_name,
    plot_name,
    published_predictions_name,
    rewind_point_name,
    round_checkpoints_name,
    round_name,
)

_ROUND_DIR = re.compile(r"^round_(\d{2,})$")
_CHECKPOINT_DIR = re.compile(rf"^{CHECKPOINT_PREFIX}-(\d+)$")
_REWIND_FILE = re.compile(r"^step_(\d+)\.safetensors$")
_BRANCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ExperimentFolder:
    """Paths and bookkeeping of one line of an experiment.

    A line lives under `root` (the Trainer's `output_dir`): the main line (`branch=None`) or the branch
    `branch`. Round 0 and the rewind points belong to the trunk and are shared by every line.

    Args:
        root: the experiment's folder (the Trainer's `output_dir`).
        branch: the branch's name (letters, digits, `_`, `.` and `-`); None for the main line.
    """

    def __init__(self, root: str | Path, branch: str | None = None):
        if branch is not None and not _BRANCH_NAME.match(branch):
            raise LTHInputError(f"lth_branch '{branch}' is not a valid name: use letters, digits, '_', '.' and '-'.")
        self.root = Path(root)
        self.branch = branch
        self.base = self.root if branch is None else self.root / BRANCHES_DIR / branch

    # ------------------------------------------------------------------ paths

    @property
    def results_path(self) -> Path:
        return self.base / RESULTS_FILE

    @property
    def plot_path(self) -> Path:
        return self.base / PLOT_FILE

    def split_plot_path(self, split: str = "test") -> Path:
        """The accuracy-versus-sparsity plot of `split` (`plot_path` for test)."""
        return self.base / plot_name(split)

    @property
    def report_path(self) -> Path:
        return self.base / REPORT_FILE

    @property
    def branches_plot_path(self) -> Path:
        return self.base / BRANCHES_PLOT_FILE

    @property
    def settings_path(self) -> Path:
        """The experiment's identity (`hf_lth.settings.identity`): the trunk's settings and the main line's."""
        return self.root / SETTINGS_FILE

    def trunk_settings(self) -> dict[str, Any]:
        """The settings round 0 was trained with, as the experiment's identity records them (`settings_path`).

        Raises:
            LTHInputError: the folder holds no experiment, or its settings file is unreadable.
        """
        stored = _read_settings(self.settings_path, overwrite=False)
        if stored is None or not isinstance(stored.get("trunk"), dict):
            raise LTHInputError(f"{self.settings_path} holds no trunk settings: is {self.root} the output_dir of an "
                                f"experiment?")
        return stored["trunk"]

    @property
    def branch_settings_path(self) -> Path:
        """A branch's own settings (the main line's are in `settings_path`)."""
        return self.base / BRANCH_FILE

    @property
    def search_dir(self) -> Path:
        """Scratch space of an early-bird search (Trainer's output_dir while it runs; removed after)."""
        return self.base / SEARCH_DIR

    def rewind_path(self, step: int) -> Path:
        return self.root / REWIND_DIR / rewind_point_name(step)

    def round_dir(self, index: int, control: str | None = None) -> Path:
        if control is None:
            return (self.root if index == 0 else self.base) / round_name(index)
        return self.base / CONTROLS_DIR / control / round_name(index)

    def checkpoint_dir(self, index: int, control: str | None = None) -> Path:
        tag = round_checkpoints_name(index, control)
        return (self.root if index == 0 and control is None else self.base) / CHECKPOINTS_DIR / tag

    def trainer_checkpoint(self, index: int, step: int, control: str | None = None) -> Path:
        """Trainer's checkpoint of round `index` (or of its `control`) at optimizer step `step`."""
        return self.checkpoint_dir(index, control) / checkpoint_name(step)

    def mask_path(self, index: int, control: str | None = None) -> Path:
        return self.round_dir(index, control) / MASK_FILE

    def predictions_path(self, index: int, control: str | None = None) -> Path:
        return self.round_dir(index, control) / PREDICTIONS_FILE

    def published_predictions_path(self, index: int, control: str | None = None) -> Path:
        """Where a published line (`hf_lth.study.publish`) keeps the predictions of round `index` (or its control):
        round 0 under the main line."""
        base = self.root if index == 0 and control is None else self.base
        return base / PUBLISHED_PREDICTIONS_DIR / published_predictions_name(index, control)

    def pending_mask_path(self, index: int) -> Path:
        """The mask pruned round `index` of this line trains under, kept (packed) while it trains: a line restored
        from its published records (`hf_lth.engine.restore`) takes it instead of the weights of round `index - 1`."""
        return self.base / PENDING_MASKS_DIR / f"{round_name(index)}.safetensors"

    def restored_path(self, index: int, control: str | None = None) -> Path:
        """The marker of a round folder restored from published records (it holds no weights)."""
        return self.round_dir(index, control) / RESTORED_FILE

    def has_weights(self, index: int, control: str | None = None) -> bool:
        """True when finished round `index` (of `control`) holds its trained weights (a restored one does not)."""
        directory = self.round_dir(index, control)
        return (directory / DENSE_WEIGHTS_FILE).is_file() or (directory / COMPACT_WEIGHTS_FILE).is_file()

    @property
    def published_state_dir(self) -> Path:
        """In a published line: what the line needs to go on without its run folder (`hf_lth.engine.line_state`)."""
        return self.base / PUBLISHED_STATE_DIR

    def published_mask_path(self, index: int, control: str | None = None) -> Path:
        """In a published line: the packed mask of round `index` (or its control); round 0 under the main line."""
        base = self.root if index == 0 and control is None else self.base
        return base / PUBLISHED_STATE_DIR / PUBLISHED_MASKS_DIR / published_predictions_name(index, control)

    def published_pending_path(self, index: int) -> Path:
        """In a published line: the packed mask of pruned round `index`, published while it trained."""
        return self.published_state_dir / PUBLISHED_PENDING_DIR / f"{round_name(index)}.safetensors"

    @property
    def published_initial_weights_path(self) -> Path:
        """In a published experiment: the digest of round 0's initial weights (the start that `init` rewinds to)."""
        return self.root / PUBLISHED_STATE_DIR / INITIAL_WEIGHTS_FILE

    @property
    def branches_dir(self) -> Path:
        return self.root / BRANCHES_DIR

    def branch_folders(self) -> dict[str, ExperimentFolder]:
        """Every folder under `branches/` named as a branch may be, finished or not, with or without its settings
        file (a published copy keeps none): name -> its `ExperimentFolder`."""
        if not self.branches_dir.is_dir():
            return {}
        return {p.name: ExperimentFolder(self.root, p.name) for p in sorted(self.branches_dir.iterdir())
                if p.is_dir() and _BRANCH_NAME.match(p.name)}

    def branch_names(self) -> list[str]:
        folder = self.root / BRANCHES_DIR
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / BRANCH_FILE).is_file())

    # ------------------------------------------------------------------ reading

    def finished_rounds(self, control: str | None = None) -> list[int]:
        """Finished rounds of this line (round 0 is the trunk's), or of one of its controls."""
        if control is not None:
            return _finished_in(self.base / CONTROLS_DIR / control)
        return [0][: 0 in _finished_in(self.root)] + [i for i in _finished_in(self.base) if i > 0]

    def record(self, index: int, control: str | None = None) -> dict[str, Any]:
        """The `lth` block of a finished round's config.json."""
        with open(self.round_dir(index, control) / CONFIG_FILE, encoding="utf-8") as handle:
            return json.load(handle)["lth"]

    def read_weights(self, index: int):
        """The trained weights of finished round `index` of this line (dense or compact ticket folder)."""
        from .compact import load_ticket_state

        return load_ticket_state(self.round_dir(index))

    def rewind_steps(self) -> list[int]:
        """The steps of round 0 whose weights are kept."""
        folder = self.root / REWIND_DIR
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _REWIND_FILE.match(p.name)))

    def read_rewind_point(self, step: int):
        """The weights of round 0 after optimizer step `step` (step 0: the initial weights)."""
        from safetensors.torch import load_file

        path = self.rewind_path(step)
        if not path.is_file():
            raise LTHInputError(
                f"{self.root} keeps round 0's weights at steps {self.rewind_steps()}, not at step {step}: list it in "
                "--lth_rewind_steps before round 0 trains (a new output_dir), or rewind to a kept step."
            )
        return load_file(str(path))

    # ------------------------------------------------------------------ writing

    def write_rewind_point(self, step: int, state: dict) -> Path:
        """Write round 0's weights after optimizer step `step` (tensors on the CPU), atomically."""
        from safetensors.torch import save_file

        path = self.rewind_path(step)
        with atomic_path(path) as tmp:
            save_file(state, tmp, metadata={"format": "hf_lth.rewind_point", "step": str(step)})
        return path

    def write_round(self, index: int, control: str | None, model, state_dict: dict, mask, record: dict[str, Any],
                    processing_class=None, log_history: list | None = None, compact: bool = False,
                    predictions: dict | None = None) -> Path:
        """Write a round as a normal model folder (`record` in config.json's `lth` block) with its mask, tokenizer,
        Trainer log and per-example predictions (`hf_lth.storage.predictions`) beside it, atomically; then drop the
        round's Trainer checkpoints."""
        from .compact import COMPACT_WEIGHTS_NAME, DENSE_WEIGHTS_NAME, save_compact
        from .predictions import PREDICTIONS_FILE, save_predictions
        from .weights import own_class

        directory = self.round_dir(index, control)
        model.config.lth = record
        with atomic_dir(directory) as tmp:
            if compact:  # bitmask + surviving values instead of the dense weights
                save_compact(state_dict, mask, tmp / COMPACT_WEIGHTS_NAME)
            with own_class(model):  # not FSDP2's class for a sharded model
                model.save_pretrained(tmp, state_dict=state_dict)  # (it may consume `state_dict`)
            if compact:
                (tmp / DENSE_WEIGHTS_NAME).unlink()
            mask.save(tmp / MASK_FILE)
            if processing_class is not None:
                processing_class.save_pretrained(tmp)
            write_json_atomic(tmp / LOG_HISTORY_FILE, log_history or [])
            if predictions:
                save_predictions(tmp / PREDICTIONS_FILE, predictions)
        remove_path(self.checkpoint_dir(index, control))
        remove_if_empty(self.checkpoint_dir(index, control).parent)
        if control is None:
            self._remove_pending_mask(index)
        return directory

    def _remove_pending_mask(self, index: int) -> None:
        self.pending_mask_path(index).unlink(missing_ok=True)
        remove_if_empty(self.pending_mask_path(index).parent)

    # ------------------------------------------------------------------ claiming

    def claim(self, trunk: dict[str, Any], line: dict[str, Any], overwrite: bool = False) -> None:
        """Record the settings of the trunk and of this line; refuse a folder whose finished work has other ones.

        The trunk's settings are compared with those of the folder, and this line's with those it had; a
        difference in a line that holds a finished round or a completed checkpoint is refused unless `overwrite`
        (which starts over: the whole experiment if the trunk differs or this is the main line, else this branch).
        A line that got no further than a started round holds nothing costly to lose, and is cleared.
        """
        if self.root.exists() and not self.root.is_dir():
            raise LTHInputError(f"output_dir {self.root} is a file, not a folder.")
        stored = _read_settings(self.settings_path, overwrite)
        if stored is not None and "trunk" not in stored:
            stored = {"trunk": {"written by": "an older hf_lth"}, "main": None}
        trunk_changes = settings_changes(stored["trunk"], trunk) if stored else {}
        line_before = ((stored or {}).get("main") if self.branch is None
                       else _read_settings(self.branch_settings_path, overwrite))
        line_changes = settings_changes(line_before, line) if line_before is not None else {}
        whole = ExperimentFolder(self.root)
        if trunk_changes or (self.branch is None and (line_changes or overwrite)):
            if trunk_changes or line_changes:
                self._refuse_unless(overwrite, whole.holds_results(everything=True), {**trunk_changes, **line_changes})
            whole.clear()
            stored = None
        elif line_changes or (overwrite and line_before is not None):
            if line_changes:
                self._refuse_unless(overwrite, self.holds_results(), line_changes)
            self.clear()
        self.remove_leftovers()
        main = line if self.branch is None else (stored or {}).get("main")
        write_json_atomic(self.settings_path, {"trunk": trunk, "main": main})
        if self.branch is not None:
            write_json_atomic(self.branch_settings_path, line)

    def _refuse_unless(self, overwrite: bool, holds: bool, changes: dict[str, tuple[Any, Any]]) -> None:
        if overwrite or not holds:
            return
        details = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changes.items()))
        hint = "" if self.branch is not None else ", --lth_branch NAME for a variant that reuses its round 0"
        where = self.root if self.branch is None else f"{self.root} (branch {self.branch})"
        raise LTHInputError(
            f"output_dir {where} holds an experiment with other settings ({details}); use another output_dir"
            f"{hint}, or --overwrite_output_dir to start over."
        )

    def holds_results(self, everything: bool = False) -> bool:
        """True when a round or control of this line finished, or one of its Trainer checkpoints was completed
        (`everything`: of any line, the trunk included)."""
        lines = [self] + ([ExperimentFolder(self.root, b) for b in self.branch_names()] if everything else [])
        for line in lines:
            own = [i for i in line.finished_rounds() if i > 0 or everything]
            if own or any(line.finished_rounds(kind) for kind in line.control_names()):
                return True
            checkpoints = line.base / CHECKPOINTS_DIR
            if checkpoints.is_dir() and any(
                _CHECKPOINT_DIR.match(c.name) and not _is_incomplete_checkpoint(c)
                for round_dir in checkpoints.iterdir() if round_dir.is_dir() for c in round_dir.iterdir()
            ):
                return True
        return False

    def clear(self) -> None:
        """Remove everything this line wrote (the main line: the whole experiment, branches included).

        Each folder is renamed aside before it is deleted, so a crash midway never leaves a partial round under
        its final name; the settings file goes last, so an interrupted clear is still refused or cleared again.
        """
        names = [CONTROLS_DIR, CHECKPOINTS_DIR, PENDING_MASKS_DIR]
        names += [BRANCHES_DIR, REWIND_DIR] if self.branch is None else []
        for name in names:
            remove_path(self.base / name)
        for index in self.finished_rounds():
            if index > 0 or self.branch is None:
                remove_path(self.round_dir(index))
        for name in (RESULTS_FILE, PLOT_FILE, REPORT_FILE, BRANCHES_PLOT_FILE, BRANCH_FILE) + (
                (SETTINGS_FILE,) if self.branch is None else ()):
            (self.base / name).unlink(missing_ok=True)
        self.remove_leftovers()

    def remove_leftovers(self) -> list[Path]:
        """Remove what killed runs leave behind; return the removed paths.

        - temporary files and folders of `atomic_path` / `atomic_dir` (`.NAME.tmp-PID`, `.NAME.old-PID`), which
          are never read: a round, mask, rewind point or results file exists under its final name or not at all;
        - Trainer checkpoints of rounds (and controls) that finished, which their ticket replaced, and the empty
          `checkpoints/` folder;
        - checkpoint folders without their `trainer_state.json` (Trainer writes it last), so that a round cut
          short while a checkpoint was written resumes from the last complete one, not from the broken one;
        - pending masks of rounds that finished.
        """
        removed = []
        for index in self.finished_rounds():
            if index > 0 and self.pending_mask_path(index).is_file():
                removed.append(self.pending_mask_path(index))
        for base in {self.root, self.base, self.root / REWIND_DIR, self.base / PENDING_MASKS_DIR,
                     *self._control_roots()}:
            if base.is_dir():
                removed += [child for child in base.iterdir() if is_temporary_name(child.name)]
        for base in {self.root, self.base}:
            checkpoints = base / CHECKPOINTS_DIR
            if not checkpoints.is_dir():
                continue
            finished = {self.checkpoint_dir(i).name for i in self.finished_rounds()}
            for kind in self.control_names():
                finished |= {self.checkpoint_dir(i, kind).name for i in self.finished_rounds(kind)}
            for round_dir in checkpoints.iterdir():
                if is_temporary_name(round_dir.name) or round_dir.name in finished:
                    removed.append(round_dir)
                elif round_dir.is_dir():
                    removed.extend(c for c in round_dir.iterdir() if _is_incomplete_checkpoint(c))
        for path in removed:
            remove_path(path)
        for base in {self.root, self.base}:
            remove_if_empty(base / CHECKPOINTS_DIR)
        remove_if_empty(self.base / PENDING_MASKS_DIR)
        return removed

    def _control_roots(self) -> list[Path]:
        root = self.base / CONTROLS_DIR
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and not is_temporary_name(p.name))

    def control_names(self) -> list[str]:
        """The controls this line holds rounds of (their folders under `controls/`)."""
        return [p.name for p in self._control_roots()]

    # ------------------------------------------------------------------ results

    def collect_results(self, selection_metric: str = "accuracy") -> dict[str, Any]:
        """Rebuild this line's `lth_results.json` from its finished round folders (the single source of truth)."""
        rounds = [self.record(i) for i in self.finished_rounds()]
        controls = {kind: [self.record(i, kind) for i in self.finished_rounds(kind)] for kind in self.control_names()}
        stored = json.loads(self.settings_path.read_text()) if self.settings_path.is_file() else {}
        line = stored.get("main") if self.branch is None else json.loads(self.branch_settings_path.read_text())
        best = select_best_round(rounds, f"eval_{selection_metric}")
        results = {
            "experiment": {**stored.get("trunk", {}), **(line or {})},
            "branch": self.branch,
            "selection_metric": f"eval_{selection_metric}",
            "best_round": best,
            "rounds": rounds,
            "controls": controls,
        }
        write_json_atomic(self.results_path, results)
        return results


def select_best_round(rounds: list[dict[str, Any]], metric: str) -> int | None:
    """The pruned round with the highest validation `metric` (ties: the sparser); round 0 if none is pruned.

    Selection never looks at test metrics, and never picks a collapsed round (one whose validation predictions
    are nearly all one class, see `collapse.py`).
    """
    usable = [r for r in rounds if metric in r and not r.get("collapsed")]
    candidates = [r for r in usable if r["round"] > 0] or usable
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r[metric], r["sparsity"]))["round"]


def _finished_in(base: Path) -> list[int]:
    if not base.is_dir():
        return []
    found = []
    for child in base.iterdir():
        match = _ROUND_DIR.match(child.name)
        if match and (child / CONFIG_FILE).is_file() and (child / MASK_FILE).is_file():
            found.append(int(match.group(1)))
    return sorted(found)


def remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _read_settings(path: Path, overwrite: bool) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict):
            raise ValueError("not a JSON object")
        return stored
    except (OSError, ValueError) as err:
        if overwrite:
            return None
        raise LTHInputError(
            f"{path} is unreadable ({err}); use another output_dir, or --overwrite_output_dir to start over."
        ) from err


def settings_changes(before: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Setting -> (before, now) for every setting whose value differs (missing counts as None)."""
    before = before or {}
    keys = list(now) + [k for k in before if k not in now]
    return {k: (before.get(k), now.get(k)) for k in keys if before.get(k) != now.get(k)}


def _is_incomplete_checkpoint(folder: Path) -> bool:
    """A `checkpoint-N` folder whose trainer_state.json (written last by Trainer) is missing or unreadable."""
    if not (_CHECKPOINT_DIR.match(folder.name) and folder.is_dir()):
        return False
    try:
        json.loads((folder / TRAINER_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return False
