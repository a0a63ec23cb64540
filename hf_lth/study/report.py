"""`hf-lth-study report`: one table and one plot of a study, over its seeds, with intervals and verdicts.

For every line and round: the sparsity (all prunable weights / without the embedding), the validation and test
score (the selection metric: accuracy, or macro-F1) as a mean over seeds with its 95% interval carrying both the
seeds' spread and the test examples' sampling error (`hf_lth.stats.intervals.combine_seeds`), the verdicts of
`hf_lth.stats.verdicts` (matching dense and matching or exceeding it, on validation), and at the rounds with
controls the paired difference ticket − control on test with its interval, its Holm-adjusted p over every
comparison in the table, and whether the ticket beats the control on validation. Degenerate runs are left out
of every mean and counted in the table. Records are read from the seeds' experiment folders, or from their
published copies where the folders are gone; records without per-example predictions (before issue 21) get
intervals over seeds alone. The study file's `report:` block may ask for several metrics (one table each) and for
paired comparisons between lines at the same round (`compare: {channel: main}`); its other kinds are
`time_to_ticket` (`hf_lth.study.time_to_ticket`) and `instability` (`hf_lth.study.instability`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..stats.intervals import Interval, holm
from ..stats.verdicts import matches_dense
from .records import (LineRecords, Run, format_interval, has_interval, line_folder, load_lines, mean_field,
                      over_seeds, paired, score_and_se, selection_metric)
from .spec import Study

__all__ = ["Cell", "line_folder", "plot_study", "study_cells", "study_table", "write_report"]

CONTROL_LABELS = {"random_pruning": "random pruning", "random_reinit": "random re-init"}
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.(.+?)(?:\.weight)?$")


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
    compared: dict[str, dict[str, Any]] = field(default_factory=dict)
    units_kept: str = ""
    predictions: bool = True


def _runs(by_seed: dict[int, LineRecords], index: int, control: str | None = None) -> tuple[list[Run], list[int]]:
    """The non-degenerate runs of round `index` (or its control) over the seeds, and the degenerate seeds."""
    runs, degenerate = [], []
    for seed, line in sorted(by_seed.items()):
        run = line.run(index, control)
        if run is None:
            continue
        (degenerate.append(seed) if run.degenerate else runs.append(run))
    return runs, degenerate


def _pair_entry(mine: list[Run], others: list[Run], flagged: list[int], metric: str) -> dict[str, Any]:
    """ticket − other paired by seed, on validation and test, with the seeds counted."""
    by_seed = {r.seed: r for r in others}
    pairs = [(r, by_seed[r.seed]) for r in mine if r.seed in by_seed]
    entry: dict[str, Any] = {"seeds": len(pairs), "degenerate": flagged}
    if pairs:
        entry["validation"] = paired(pairs, "eval", metric)
        if all(r.has_score("test", metric) for pair in pairs for r in pair):
            entry["test"] = paired(pairs, "test", metric)
    return entry


def _matching(runs: list[Run], dense: list[Run], metric: str) -> dict[str, Any] | None:
    dense_by_seed = {r.seed: r for r in dense}
    paired_seeds = [r for r in runs if r.seed in dense_by_seed]
    if not paired_seeds:
        return None
    dense_runs = [dense_by_seed[r.seed] for r in paired_seeds]
    example_se = None
    if len(paired_seeds) == 1:
        if not dense_runs[0].has("eval"):
            return None  # one seed without predictions: no standard deviation to judge by
        example_se = score_and_se(dense_runs[0].predictions["eval"], metric)[1]
    return matches_dense([r.score("eval", metric) for r in paired_seeds],
                         [r.score("eval", metric) for r in dense_runs], dense_example_se=example_se)


def study_cells(study: Study, metric: str | None = None,
                loaded: dict[str, dict[int, LineRecords]] | None = None) -> tuple[list[Cell], str, dict[str, int]]:
    """Every line's rounds over the seeds (see the module docstring); the metric; finished seeds per line.

    Args:
        study: the study.
        metric: `accuracy` or `f1` (None: the one the records select on).
        loaded: the records (`load_lines(study)`; read here when None).
    """
    loaded = loaded if loaded is not None else load_lines(study)
    metric = metric or selection_metric(loaded)
    dense: list[Run] = []
    cells = []
    for line in study.lines:
        by_seed = loaded.get(line.name, {})
        indices = sorted({i for records in by_seed.values() for i in records.rounds() if i > 0 or line.is_main})
        kinds = sorted({k for records in by_seed.values() for k in records.results.get("controls", {})})
        for index in indices:
            runs, degenerate = _runs(by_seed, index)
            records = [r.record(index) for r in by_seed.values() if r.record(index) is not None]
            if not records:
                continue
            record = records[0]
            units = record.get("units_kept") or {}
            cell = Cell(line.name, index, record["sparsity"], mean_field(records, "sparsity_without_embedding"),
                        [r.seed for r in runs], degenerate, over_seeds(runs, "eval", metric),
                        over_seeds(runs, "test", metric) if all(r.has_score("test", metric) for r in runs) else None,
                        units_kept=", ".join(str(v) for v in dict.fromkeys(units.values())),
                        predictions=all(r.predictions is not None for r in runs))
            if index == 0 and line.is_main:
                dense = runs
            elif dense and runs:
                cell.matching = _matching(runs, dense, metric)
            for kind in kinds:
                controls, flagged = _runs(by_seed, index, kind)
                mine = [r for r in runs if r.seed in {c.seed for c in controls}]
                if mine or flagged:
                    cell.controls[kind] = _pair_entry(mine, controls, flagged, metric)
            other = study.report.compare.get(line.name)
            if other and index > 0 and other in loaded:
                theirs, flagged = _runs(loaded[other], index)
                if theirs:
                    cell.compared[other] = _pair_entry(runs, theirs, flagged, metric)
            cells.append(cell)
    entries = [entry for cell in cells for entry in [*cell.controls.values(), *cell.compared.values()]
               if entry.get("test") is not None and entry["test"].p_value is not None]
    for entry, adjusted in zip(entries, holm([entry["test"].p_value for entry in entries])):
        entry["holm_p"] = adjusted
    return cells, metric, finished_seeds(study, loaded)


def finished_seeds(study: Study, loaded: dict[str, dict[int, LineRecords]]) -> dict[str, int]:
    """line name -> how many seeds have run it to its last planned round and control (`Study.plan`)."""
    return {line.name: sum(records.reached(study.plan(line), line.is_main)
                           for records in loaded.get(line.name, {}).values())
            for line in study.lines}


def missing_lines(study: Study, loaded: dict[str, dict[int, LineRecords]]) -> list[str]:
    """`line (seeds ...)` for each line some seed has not finished or started."""
    missing = []
    for line in study.lines:
        plan, by_seed = study.plan(line), loaded.get(line.name, {})
        seeds = [s for s in study.seeds if s not in by_seed or not by_seed[s].reached(plan, line.is_main)]
        if seeds:
            missing.append(f"{line.name} (seeds {', '.join(map(str, seeds))})")
    return missing


def _entry_text(entry: dict[str, Any] | None, beats_word: str = "beats") -> str:
    if not entry:
        return ""
    if "test" not in entry or entry["test"] is None:
        return f"degenerate in seeds {entry['degenerate']}" if entry["degenerate"] else "–"
    validation = entry["validation"]
    if not has_interval(validation):
        verdict = "one seed: no verdict"
    elif validation.above_zero:
        verdict = f"{beats_word} on val"
    elif validation.high < 0:
        verdict = "below on val"
    else:
        verdict = "no difference detected on val"
    note = f"; {len(entry['degenerate'])} degenerate left out" if entry["degenerate"] else ""
    holm_p = f", p={entry['holm_p']:.2g}" if "holm_p" in entry else ""
    return f"{format_interval(entry['test'], signed=True)}{holm_p}, {verdict} (n={entry['seeds']}{note})"


def study_table(study: Study) -> str:
    """The study's report in Markdown: settings, one table per metric, the definitions and what is missing."""
    loaded = load_lines(study)
    finished = finished_seeds(study, loaded)
    text = [f"# Study {study.name}", "", " ".join(study.description.split()), "",
            f"Seeds {study.seeds}; seeds that finished each line (every planned round and control): "
            + ", ".join(f"{line} {n}" for line, n in finished.items()) + "."]
    missing = missing_lines(study, loaded)
    if missing:
        text += ["", "Not finished yet (still running, or not run): " + "; ".join(missing) + "."]
    for metric in study.report.metrics or [None]:
        cells, metric, _ = study_cells(study, metric, loaded)
        text += ["", _table(cells, metric)]
    if study.report.tensors:
        text += ["", tensor_table(study, loaded)]
    if not all(cell.predictions for cell in cells):
        text += ["", "Some records have no per-example predictions (written before issue 21): their intervals are "
                 "t-intervals over seeds alone, which leave out the test set's sampling error, and with one seed "
                 "they have none; *matches dense* with one such seed is not judged."]
    return "\n".join(text) + "\n"


def tensor_table(study: Study, loaded: dict[str, dict[int, LineRecords]]) -> str:
    """The per-tensor sparsity of the round `study.report.tensors` names, mean over the seeds that have it: a layer ×
    matrix grid for names holding `layer.N.`, one row each for the others."""
    name, index = study.report.tensors["line"], study.report.tensors["round"]
    lines_ = [r for r in loaded.get(name, {}).values() if r.record(index) is not None]
    records = [r.record(index) for r in lines_]
    if not records:
        return f"Per-tensor sparsity: {name} round {index} has not finished."
    order = lines_[0].results.get("experiment", {}).get("prunable") or []  # the model's order, where recorded
    tensors = sorted(records[0].get("layer_sparsity", {}), key=lambda t: order.index(t) if t in order else len(order))
    mean = {t: sum(r["layer_sparsity"][t] for r in records) / len(records) for t in tensors}
    grid: dict[int, dict[str, float]] = {}
    others = []
    for tensor in tensors:
        match = _LAYER.search(tensor)
        if match:
            grid.setdefault(int(match.group(1)), {})[match.group(2)] = mean[tensor]
        else:
            others.append(tensor)
    columns = list(dict.fromkeys(column for row in grid.values() for column in row))
    lines = [f"Per-tensor sparsity % of {name} round {index} ({100 * records[0]['sparsity']:.1f}% overall), mean over "
             f"{len(records)} seed(s):", ""]
    if grid:
        lines += ["| layer | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
        lines += [f"| {layer} | " + " | ".join(f"{100 * row[c]:.1f}" if c in row else "–" for c in columns) + " |"
                  for layer, row in sorted(grid.items())]
    if others:
        lines += ["", "| tensor | sparsity % |", "|---|---|"] + [f"| {t} | {100 * mean[t]:.1f} |" for t in others]
    return "\n".join(lines)


def _table(cells: list[Cell], metric: str) -> str:
    name = "macro-F1" if metric == "f1" else "accuracy"
    kinds = sorted({kind for cell in cells for kind in cell.controls})
    others = list(dict.fromkeys(other for cell in cells for other in cell.compared))
    units = any(cell.units_kept for cell in cells)
    header = ["line", "round", "sparsity % (all / w/o emb.)"] + (["units kept per tensor"] if units else [])
    header += ["seeds", f"val {name} %", f"test {name} % [95% CI]", "matches dense (val)"]
    header += [f"− {CONTROL_LABELS.get(k, k)}: test diff [95% CI], Holm p, beats on val" for k in kinds]
    header += [f"− {other} (same round): test diff [95% CI], Holm p, on val" for other in others]
    lines = [f"### {'Macro-F1' if metric == 'f1' else 'Accuracy'}", "",
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
        row = [cell.line, str(cell.round), sparsity] + ([cell.units_kept or "all"] if units else [])
        row += [seeds, f"{100 * cell.validation.estimate:.2f}" if cell.validation else "–",
                format_interval(cell.test), verdict]
        row += [_entry_text(cell.controls.get(kind)) for kind in kinds]
        row += [_entry_text(cell.compared.get(other), beats_word="above") for other in others]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Scores are {name} in percent. Intervals: 95%, over seeds and test examples together "
              "(mean ± t·sqrt(s²/n + SE²); with one seed, over test examples alone). *Matches dense* (Chen et al. "
              "2020): mean validation score within one standard deviation over seeds of dense's (one seed: one "
              "standard error over validation examples); the signed number is the gap to dense in points. *Beats* a "
              "control: the paired 95% interval of ticket − control on validation lies above zero. Holm's "
              "correction runs over every test comparison in this table. Degenerate runs (≥ 85% of validation "
              "predictions in one class, or macro-F1 below chance + 0.05) are left out and counted."]
    return "\n".join(lines)


def plot_study(study: Study, path: str | Path) -> Path:
    """Test score against sparsity per line (mean over seeds with its 95% band), controls as points with bars."""
    from ..report.plots import new_figure, save_figure

    cells, metric, _ = study_cells(study, (study.report.metrics or [None])[0])
    fig, ax = new_figure()
    for line in dict.fromkeys(cell.line for cell in cells):
        mine = [c for c in cells if c.line == line and c.test is not None]
        if line != "main":
            dense = next((c for c in cells if c.line == "main" and c.round == 0 and c.test is not None), None)
            mine = ([dense] if dense else []) + [c for c in mine if c.round > 0]
        x = [100 * c.sparsity for c in mine]
        ax.plot(x, [100 * c.test.estimate for c in mine], marker="o", label=line)
        ax.fill_between(x, [100 * c.test.low for c in mine], [100 * c.test.high for c in mine], alpha=0.15)
        for kind, marker in (("random_pruning", "v"), ("random_reinit", "x")):
            points = [(c, c.controls[kind]) for c in mine if kind in c.controls and c.controls[kind].get("test")]
            for c, entry in points:
                value = c.test.estimate - entry["test"].estimate
                ax.errorbar(100 * c.sparsity, 100 * value, yerr=100 * (entry["test"].high - entry["test"].estimate),
                            fmt=marker, color="grey", capsize=3,
                            label=f"{CONTROL_LABELS[kind]} ({line})" if c is points[0][0] else None)
    return save_figure(fig, ax, "test", f"{study.name}: mean over seeds, 95% interval", path, metric)


def write_report(study: Study, out: str | Path) -> tuple[Path, Path, str]:
    """Write `out/NAME.md` (the plot embedded) and `out/NAME.png` for the study's report kind.

    Returns:
        (the Markdown file, the plot, the Markdown text).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, png = out / f"{study.name}.md", out / f"{study.name}.png"
    if study.report.kind == "time_to_ticket":
        from .time_to_ticket import plot_time_to_ticket, time_to_ticket_table

        text = time_to_ticket_table(study)
        plot_time_to_ticket(study, png)
    elif study.report.kind == "instability":
        from .instability import instability_table, plot_instability

        text = instability_table(study)
        plot_instability(study, png)
    else:
        text = study_table(study)
        plot_study(study, png)
    md.write_text(text + f"\n![{study.name}]({png.name})\n", encoding="utf-8")
    return md, png, text
