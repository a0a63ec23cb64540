"""`hf-lth-study report`: one table and one plot of a study, over its seeds, with intervals and verdicts.

For every line and round: the sparsity (all prunable weights / without the embedding), the validation and test
score (the selection metric: accuracy, or macro-F1) as a mean over seeds with its 95% interval carrying both the
seeds' spread and the test examples' sampling error (`hf_lth.stats.intervals.combine_seeds`), the verdicts of
`hf_lth.stats.verdicts` (matching dense and matching or exceeding it, on validation), and at the rounds with
controls the paired difference ticket − control on test with its interval, its Holm-adjusted p over every
comparison in the table, and whether the ticket beats the control on validation. Degenerate runs are left out
of every mean and counted in the table. Records are read from the seeds' experiment folders, or from their
published copies where the folders are gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment import BRANCHES_DIR, RESULTS_FILE
from ..stats.intervals import Interval, combine_seeds, example_interval, holm, paired_difference
from ..stats.lookup import round_predictions
from ..stats.verdicts import is_degenerate, matches_dense
from .spec import Line, Study

CONTROL_LABELS = {"random_pruning": "random pruning", "random_reinit": "random re-init"}


@dataclass
class Cell:
    """One line's round over the seeds."""

    line: str
    round: int
    sparsity: float
    sparsity_without_embedding: float | None
    seeds: list[int]
    degenerate: list[int]
    validation: Interval | None = None
    test: Interval | None = None
    matching: dict[str, Any] | None = None
    controls: dict[str, dict[str, Any]] = field(default_factory=dict)


def line_folder(study: Study, seed: int, line: Line) -> Path | None:
    """The folder of a line of a seed: the experiment folder, else its published copy; None if neither exists."""
    for root in (study.output_dir(seed), study.results_dir(seed)):
        if root is None:
            continue
        folder = root if line.is_main else root / BRANCHES_DIR / line.name
        if (folder / RESULTS_FILE).is_file():
            return folder
    return None


def _score(preds, metric: str) -> tuple[float, float]:
    """A run's score on a split and its standard error over the split's examples."""
    if metric == "accuracy":
        correct = (preds.predicted == preds.labels).astype(float)
        return float(correct.mean()), float(correct.std(ddof=1) / np.sqrt(correct.size))
    interval = example_interval(preds.predicted, preds.labels, metric)
    return interval.estimate, (interval.high - interval.low) / (2 * 1.959964)


def _over_seeds(runs: list[dict], split: str, metric: str) -> Interval | None:
    if not runs:
        return None
    if metric == "accuracy":
        matrix = np.stack([(r[split].predicted == r[split].labels).astype(float) for r in runs])
        n = matrix.shape[1]
        return combine_seeds(matrix.mean(1), float(matrix.mean(0).std(ddof=1) / np.sqrt(n)), n)[0]
    scores = [_score(r[split], metric) for r in runs]
    return combine_seeds([s for s, _ in scores], float(np.mean([se for _, se in scores])), runs[0][split].labels.size)[0]


def _difference(pairs: list[tuple[dict, dict]], split: str, metric: str) -> Interval:
    if metric == "accuracy":
        matrix = np.stack([(a[split].predicted == a[split].labels).astype(float)
                           - (b[split].predicted == b[split].labels).astype(float) for a, b in pairs])
        n = matrix.shape[1]
        return combine_seeds(matrix.mean(1), float(matrix.mean(0).std(ddof=1) / np.sqrt(n)), n)[0]
    diffs = [paired_difference(a[split].predicted, b[split].predicted, a[split].labels, metric) for a, b in pairs]
    ses = [(d.high - d.low) / (2 * 1.959964) for d in diffs]
    return combine_seeds([d.estimate for d in diffs], float(np.mean(ses)), pairs[0][0][split].labels.size)[0]


def study_cells(study: Study) -> tuple[list[Cell], str, dict[str, int]]:
    """Every line's rounds over the seeds (see the module docstring); the metric; finished seeds per line."""
    loaded: dict[str, dict[int, tuple[Path, dict]]] = {}
    for line in study.lines:
        for seed in study.seeds:
            folder = line_folder(study, seed, line)
            if folder is not None:
                loaded.setdefault(line.name, {})[seed] = (folder, json.loads((folder / RESULTS_FILE).read_text()))
    if not loaded:
        raise FileNotFoundError(f"no seed of study {study.name} has results yet (looked in {study.output} and "
                                f"{study.results}).")
    first = next(iter(next(iter(loaded.values())).values()))[1]
    metric = first.get("selection_metric", "eval_accuracy").removeprefix("eval_")
    dense_runs, dense_vals = {}, {}
    cells = []
    for line in study.lines:
        by_seed = loaded.get(line.name, {})
        indices = sorted({r["round"] for _, results in by_seed.values() for r in results["rounds"]
                          if r["round"] > 0 or line.is_main})  # a branch's round 0 is the main line's
        for index in indices:
            runs, seeds, degenerate, sparsity = [], [], [], {}
            for seed, (folder, results) in sorted(by_seed.items()):
                record = next((r for r in results["rounds"] if r["round"] == index), None)
                preds = round_predictions(folder, results.get("branch"), index) if record else None
                if record is None or preds is None or "eval" not in preds:
                    continue
                sparsity = record
                if is_degenerate(record, preds["eval"].logits.shape[1]):
                    degenerate.append(seed)
                    continue
                runs.append(preds)
                seeds.append(seed)
            if not sparsity:
                continue
            cell = Cell(line.name, index, sparsity["sparsity"], sparsity.get("sparsity_without_embedding"), seeds,
                        degenerate, _over_seeds(runs, "eval", metric),
                        _over_seeds(runs, "test", metric) if runs and all("test" in r for r in runs) else None)
            if index == 0:
                dense_runs = dict(zip(seeds, runs))
                dense_vals = {s: _score(r["eval"], metric) for s, r in dense_runs.items()}
            elif dense_vals and seeds:
                paired = [s for s in seeds if s in dense_vals]
                ticket_vals = [_score(runs[seeds.index(s)]["eval"], metric)[0] for s in paired]
                if paired:
                    cell.matching = matches_dense(ticket_vals, [dense_vals[s][0] for s in paired],
                                                  dense_example_se=dense_vals[paired[0]][1])
            for kind in sorted({k for _, results in by_seed.values() for k in results.get("controls", {})}):
                pairs, flagged = [], []
                for seed, (folder, results) in sorted(by_seed.items()):
                    record = next((c for c in results["controls"].get(kind, []) if c["round"] == index), None)
                    if record is None or seed not in seeds:
                        continue
                    control = round_predictions(folder, results.get("branch"), index, kind)
                    if control is None:
                        continue
                    if is_degenerate(record, control["eval"].logits.shape[1]):
                        flagged.append(seed)
                        continue
                    pairs.append((runs[seeds.index(seed)], control))
                if pairs or flagged:
                    entry: dict[str, Any] = {"seeds": len(pairs), "degenerate": flagged}
                    if pairs:
                        entry["validation"] = _difference(pairs, "eval", metric)
                        if all("test" in a and "test" in b for a, b in pairs):
                            entry["test"] = _difference(pairs, "test", metric)
                    cell.controls[kind] = entry
            cells.append(cell)
    tests = [(cell, kind) for cell in cells for kind, entry in cell.controls.items()
             if entry.get("test") is not None and entry["test"].p_value is not None]
    for (cell, kind), adjusted in zip(tests, holm([cell.controls[kind]["test"].p_value for cell, kind in tests])):
        cell.controls[kind]["holm_p"] = adjusted
    finished = {name: len(seeds) for name, seeds in loaded.items()}
    return cells, metric, finished


def study_table(study: Study) -> str:
    """The study's report in Markdown: settings, the table, the verdicts' definitions and what is still running."""
    cells, metric, finished = study_cells(study)
    name = "macro-F1" if metric == "f1" else "accuracy"
    kinds = sorted({kind for cell in cells for kind in cell.controls})
    header = ["line", "round", "sparsity % (all / w/o emb.)", "seeds", f"val {name} %", f"test {name} % [95% CI]",
              "matches dense (val)"]
    header += [f"− {CONTROL_LABELS.get(k, k)}: test diff [95% CI], Holm p, beats on val" for k in kinds]
    lines = [f"# Study {study.name}", "", " ".join(study.description.split()), "",
             f"Seeds {study.seeds}; finished seeds per line: "
             + ", ".join(f"{line} {n}" for line, n in finished.items()) + ".", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cell in cells:
        sparsity = f"{100 * cell.sparsity:.1f}"
        if cell.sparsity_without_embedding is not None and abs(cell.sparsity_without_embedding - cell.sparsity) > 5e-4:
            sparsity += f" / {100 * cell.sparsity_without_embedding:.1f}"
        seeds = str(len(cell.seeds)) + (f" ({len(cell.degenerate)} degenerate, left out)" if cell.degenerate else "")
        if cell.matching is None:
            verdict = "dense" if cell.round == 0 else "–"
        else:
            verdict = ("matches or exceeds" if cell.matching["matches_or_exceeds"] else
                       "matches" if cell.matching["matches"] else "no") + f" ({100 * cell.matching['gap']:+.2f})"
        row = [cell.line, str(cell.round), sparsity, seeds,
               f"{100 * cell.validation.estimate:.2f}" if cell.validation else "–",
               cell.test.format() if cell.test else "–", verdict]
        for kind in kinds:
            entry = cell.controls.get(kind)
            if not entry:
                row.append("")
            elif "test" not in entry:
                row.append(f"control degenerate in seeds {entry['degenerate']}")
            else:
                beats = "yes" if entry["validation"].above_zero else "no difference detected"
                note = f"; {len(entry['degenerate'])} degenerate left out" if entry["degenerate"] else ""
                row.append(f"{entry['test'].format(signed=True)}, p={entry.get('holm_p', float('nan')):.2g}, "
                           f"{beats} (n={entry['seeds']}{note})")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Scores are {name} in percent. Intervals: 95%, over seeds and test examples together "
              "(mean ± t·sqrt(s²/n + SE²); with one seed, over test examples alone). *Matches dense* (Chen et al. "
              "2020): mean validation score within one standard deviation over seeds of dense's (one seed: one "
              "standard error over validation examples); the signed number is the gap to dense in points. *Beats* a "
              "control: the paired 95% interval of ticket − control on validation lies above zero. Holm's "
              "correction runs over every test comparison in this table. Degenerate runs (≥ 85% of validation "
              "predictions in one class, or macro-F1 below chance + 0.05) are left out and counted."]
    return "\n".join(lines) + "\n"


def plot_study(study: Study, path: str | Path) -> Path:
    """Test score against sparsity per line (mean over seeds with its 95% band), controls as points with bars."""
    from ..report import _new_figure, _save_figure

    cells, metric, _ = study_cells(study)
    fig, ax = _new_figure()
    for line in dict.fromkeys(cell.line for cell in cells):
        mine = [c for c in cells if c.line == line and c.test is not None]
        if line != "main":
            dense = next((c for c in cells if c.line == "main" and c.round == 0 and c.test is not None), None)
            mine = ([dense] if dense else []) + [c for c in mine if c.round > 0]
        x = [100 * c.sparsity for c in mine]
        ax.plot(x, [100 * c.test.estimate for c in mine], marker="o", label=line)
        ax.fill_between(x, [100 * c.test.low for c in mine], [100 * c.test.high for c in mine], alpha=0.15)
        for kind, marker in (("random_pruning", "v"), ("random_reinit", "x")):
            points = [(c, c.controls[kind]) for c in mine if kind in c.controls and "test" in c.controls[kind]]
            for c, entry in points:
                value = c.test.estimate - entry["test"].estimate
                ax.errorbar(100 * c.sparsity, 100 * value, yerr=100 * (entry["test"].high - entry["test"].estimate),
                            fmt=marker, color="grey", capsize=3,
                            label=f"{CONTROL_LABELS[kind]} ({line})" if c is points[0][0] else None)
    return _save_figure(fig, ax, "test", f"{study.name}: mean over seeds, 95% interval", path, metric)
