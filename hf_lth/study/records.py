"""A study's records over its seeds, and the intervals every study report uses.

`load_lines` reads each line's `lth_results.json` of each seed (the experiment folder, else its published copy);
`LineRecords.run` gives one round or control of one seed as a `Run`: its record and, where the round kept them, its
per-example predictions. Records written before issue 21 have no predictions: their intervals are then over seeds
alone (a t-interval of the per-seed scores; one seed: no interval), and the report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..stats.intervals import Interval, combine_seeds, example_interval, paired_difference
from ..stats.lookup import round_predictions
from ..stats.verdicts import is_degenerate
from ..storage.folder import BRANCHES_DIR, RESULTS_FILE
from .spec import Line, LinePlan, Study

Z95 = 1.959964
NO_PREDICTIONS = "over seeds only (records without per-example predictions)"
ONE_SEED_NO_PREDICTIONS = "one seed without predictions: no interval"


@dataclass
class Run:
    """One round (or control) of one seed.

    Args:
        seed: the seed.
        record: the round's record from `lth_results.json`.
        predictions: split -> `SplitPredictions`, or None where the round kept none (records before issue 21).
        num_classes: the number of classes.
    """

    seed: int
    record: dict[str, Any]
    predictions: dict[str, Any] | None
    num_classes: int

    @property
    def degenerate(self) -> bool:
        """A run that learned (nearly) nothing on validation (`hf_lth.stats.verdicts.is_degenerate`)."""
        return is_degenerate(self.record, self.num_classes)

    def has(self, split: str) -> bool:
        """True when the run's predictions on `split` are kept."""
        return self.predictions is not None and split in self.predictions

    def has_score(self, split: str, metric: str) -> bool:
        """True when the run has a `metric` on `split` (predictions or its record)."""
        return self.has(split) or self.record.get(f"{split}_{metric}") is not None

    def score(self, split: str, metric: str) -> float:
        """The run's score on `split` (`eval`, `test`), from its predictions where kept, else from its record."""
        if self.has(split):
            return score_and_se(self.predictions[split], metric)[0]
        value = self.record.get(f"{split}_{metric}")
        if value is None:
            raise KeyError(f"seed {self.seed} round {self.record.get('round')}: no {split}_{metric} in its record.")
        return float(value)


@dataclass
class LineRecords:
    """One line of one seed: its folder and its `lth_results.json`."""

    seed: int
    folder: Path
    results: dict[str, Any]

    @property
    def num_classes(self) -> int:
        """The number of classes, from the experiment's model config (2 when it is not recorded)."""
        labels = self.results.get("experiment", {}).get("config.id2label")
        return len(labels) if labels else 2

    def record(self, index: int, control: str | None = None) -> dict[str, Any] | None:
        """The record of round `index` (or of its `control`), None when it has not finished."""
        records = self.results.get("controls", {}).get(control, []) if control else self.results.get("rounds", [])
        return next((r for r in records if r["round"] == index), None)

    def run(self, index: int, control: str | None = None) -> Run | None:
        """Round `index` (or its `control`) as a `Run`, None when it has not finished."""
        record = self.record(index, control)
        if record is None:
            return None
        predictions = round_predictions(self.folder, self.results.get("branch"), index, control)
        if predictions is not None and "eval" not in predictions:
            predictions = None
        return Run(self.seed, record, predictions, self.num_classes)

    def rounds(self) -> list[int]:
        """The finished rounds' indices."""
        return sorted(r["round"] for r in self.results.get("rounds", []))

    def reached(self, plan: LinePlan, trunk: bool) -> bool:
        """True when every round of `plan` (round 0 too on the `trunk`) and every control it plans has finished."""
        wanted = set(range(0 if trunk else 1, plan.rounds + 1))
        return wanted <= set(self.rounds()) and all(
            self.record(index, kind) is not None for kind, indices in plan.controls.items() for index in indices)


def mean_field(records: list[dict[str, Any]], key: str) -> float | None:
    """The mean of `key` over the records that have it (None if none does): global pruning splits its cut between
    tensors differently in each seed, so e.g. the sparsity without the embedding varies by seed."""
    values = [float(r[key]) for r in records if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def line_folder(study: Study, seed: int, line: Line) -> Path | None:
    """The folder of a line of a seed: the experiment folder, else its published copy; None if neither exists."""
    for root in (study.output_dir(seed), study.results_dir(seed)):
        if root is None:
            continue
        folder = root if line.is_main else root / BRANCHES_DIR / line.name
        if (folder / RESULTS_FILE).is_file():
            return folder
    return None


def load_lines(study: Study) -> dict[str, dict[int, LineRecords]]:
    """line name -> seed -> its records, for every line and seed that has results.

    Raises:
        FileNotFoundError: no seed of the study has results yet.
    """
    loaded: dict[str, dict[int, LineRecords]] = {}
    for line in study.lines:
        for seed in study.seeds:
            folder = line_folder(study, seed, line)
            if folder is not None:
                results = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
                loaded.setdefault(line.name, {})[seed] = LineRecords(seed, folder, results)
    if not loaded:
        raise FileNotFoundError(f"no seed of study {study.name} has results yet (looked in {study.output} and "
                                f"{study.results}).")
    return loaded


def selection_metric(loaded: dict[str, dict[int, LineRecords]]) -> str:
    """The metric the study's first record selects on (`accuracy` or `f1`)."""
    first = next(iter(next(iter(loaded.values())).values()))
    return first.results.get("selection_metric", "eval_accuracy").removeprefix("eval_")


def score_and_se(preds, metric: str) -> tuple[float, float]:
    """A run's score on a split and its standard error over the split's examples."""
    if metric == "accuracy":
        correct = (preds.predicted == preds.labels).astype(float)
        return float(correct.mean()), float(correct.std(ddof=1) / np.sqrt(correct.size))
    interval = example_interval(preds.predicted, preds.labels, metric)
    return interval.estimate, (interval.high - interval.low) / (2 * Z95)


def _scalar_interval(values: list[float]) -> Interval:
    if len(values) == 1:
        return Interval(values[0], values[0], values[0], method=ONE_SEED_NO_PREDICTIONS)
    both, _ = combine_seeds(values, 0.0)
    return Interval(both.estimate, both.low, both.high, p_value=both.p_value, method=NO_PREDICTIONS)


def over_seeds(runs: list[Run], split: str, metric: str) -> Interval | None:
    """The mean over seeds of `runs`' score on `split` with its 95% interval (seeds and examples where the
    predictions are kept, seeds alone where they are not); None without runs."""
    if not runs:
        return None
    if not all(r.has(split) for r in runs):
        return _scalar_interval([r.score(split, metric) for r in runs])
    preds = [r.predictions[split] for r in runs]
    if metric == "accuracy":
        matrix = np.stack([(p.predicted == p.labels).astype(float) for p in preds])
        n = matrix.shape[1]
        return combine_seeds(matrix.mean(1), float(matrix.mean(0).std(ddof=1) / np.sqrt(n)), n)[0]
    scores = [score_and_se(p, metric) for p in preds]
    return combine_seeds([s for s, _ in scores], float(np.mean([se for _, se in scores])), preds[0].labels.size)[0]


def paired(pairs: list[tuple[Run, Run]], split: str, metric: str) -> Interval | None:
    """The mean over seeds of A − B (each pair: two runs of one seed) with its 95% interval and p-value; over
    seeds and examples where both runs kept predictions, over seeds alone where not; None without pairs."""
    if not pairs:
        return None
    if not all(a.has(split) and b.has(split) for a, b in pairs):
        return _scalar_interval([a.score(split, metric) - b.score(split, metric) for a, b in pairs])
    preds = [(a.predictions[split], b.predictions[split]) for a, b in pairs]
    if metric == "accuracy":
        matrix = np.stack([(a.predicted == a.labels).astype(float) - (b.predicted == b.labels).astype(float)
                           for a, b in preds])
        n = matrix.shape[1]
        return combine_seeds(matrix.mean(1), float(matrix.mean(0).std(ddof=1) / np.sqrt(n)), n)[0]
    diffs = [paired_difference(a.predicted, b.predicted, a.labels, metric) for a, b in preds]
    ses = [(d.high - d.low) / (2 * Z95) for d in diffs]
    return combine_seeds([d.estimate for d in diffs], float(np.mean(ses)), preds[0][0].labels.size)[0]


def has_interval(interval: Interval | None) -> bool:
    """False for a single seed without predictions (its "interval" is the value itself)."""
    return interval is not None and interval.method != ONE_SEED_NO_PREDICTIONS


def format_interval(interval: Interval | None, signed: bool = False) -> str:
    """`74.27 [73.10, 75.41]`; the value alone where there is no interval; `–` for None."""
    if interval is None:
        return "–"
    if not has_interval(interval):
        return f"{100 * interval.estimate:{'+' if signed else ''}.2f}"
    return interval.format(signed=signed)
