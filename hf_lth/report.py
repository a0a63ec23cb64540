"""Reports of experiments: the round table in Markdown and the accuracy-versus-sparsity plot.

Run on a folder, `hf-lth-report OUTPUT_DIR` (installed with the package); on several folders, a side-by-side
comparison (`hf-lth-report A B --labels a,b --plot cmp.png`) or, with `--seeds`, the mean and standard deviation
of the same experiment run with several seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from .experiment import ExperimentFolder
from .paths import PLOT_FILE

CONTROL_LABELS = {"random_pruning": "random pruning", "random_reinit": "random re-init"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _sparsities(record: dict[str, Any]) -> str:
    """"89.3" or, where the embedding is prunable, "89.3 / 40.1" (all prunable / without the embedding)."""
    all_prunable, without = record.get("sparsity"), record.get("sparsity_without_embedding")
    if without is None or abs(without - all_prunable) < 5e-4:
        return f"{100 * all_prunable:.1f}"
    return f"{100 * all_prunable:.1f} / {100 * without:.1f}"


def _accuracy_cell(record: dict[str, Any] | None, key: str) -> str:
    if not record:
        return "–"
    return _pct(record.get(key)) + (" (collapsed)" if record.get("collapsed") else "")


def round_table(results: dict[str, Any], folder: str | Path | None = None) -> str:
    """A Markdown table of an experiment's rounds.

    One row per round, the controls' test accuracy beside it, the best ticket and collapsed rounds (nearly all
    validation predictions in one class) marked. Sparsity is of all prunable weights, then (where the embedding
    is prunable) of those outside the embedding.

    Args:
        results: the experiment's results (the contents of `lth_results.json`).
        folder: the line's folder; where its rounds kept per-example predictions, the test accuracy comes with its
            95% bootstrap interval over the test examples.

    Returns:
        The table, as Markdown text.
    """
    from .stats.lookup import round_predictions

    controls = results.get("controls", {})
    by_round = {kind: {r["round"]: r for r in records} for kind, records in controls.items()}
    best = results.get("best_round")
    rounds = results.get("rounds", [])
    with_embedding = any(_sparsities(r) != f"{100 * r['sparsity']:.1f}" for r in rounds)
    sparsity_header = "sparsity % (all / w/o embedding)" if with_embedding else "sparsity %"
    intervals = {}
    if folder is not None:
        for record in rounds:
            kept = round_predictions(folder, results.get("branch"), record["round"])
            intervals[record["round"]] = _interval(kept, "test", "accuracy") if kept else None
    with_intervals = any(intervals.values())
    test_header = "test acc % [95% CI]" if with_intervals else "test acc %"
    header = ["round", sparsity_header, "val acc %", "val macro-F1 %", test_header, "test macro-F1 %", "steps", "time s"]
    header += [f"{CONTROL_LABELS.get(kind, kind)} test acc %" for kind in by_round]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for record in rounds:
        index = record["round"]
        marks = [" (best)" if index == best else "", " (collapsed)" if record.get("collapsed") else ""]
        cells = [
            f"{index}{''.join(marks)}",
            _sparsities(record),
            _pct(record.get("eval_accuracy")),
            _pct(record.get("eval_f1")),
            intervals[index].format() if intervals.get(index) else _pct(record.get("test_accuracy")),
            _pct(record.get("test_f1")),
            str(record.get("train_steps", "–")),
            f"{record.get('wall_time_s', 0):.0f}",
        ]
        cells += [_accuracy_cell(by_round[kind].get(index), "test_accuracy") for kind in by_round]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_table(runs: dict[str, dict[str, Any]], split: str = "test") -> str:
    """Several experiments side by side (rewinding kinds, strategies, models): one row per round, with the
    sparsity (several values if the experiments differ there) and each experiment's `split` accuracy."""
    key = f"{split}_accuracy"
    by_run = {label: {r["round"]: r for r in results.get("rounds", [])} for label, results in runs.items()}
    header = ["round", "sparsity %"] + [f"{label} {split} acc %" for label in runs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index in sorted({i for records in by_run.values() for i in records}):
        sparsities = sorted({round(100 * r[index]["sparsity"], 1) for r in by_run.values() if index in r})
        cells = [str(index), " / ".join(f"{x:.1f}" for x in sparsities)]
        cells += [_pct(by_run[label].get(index, {}).get(key)) for label in runs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seeds_table(runs: list[dict[str, Any]], split: str = "test") -> str:
    """The same experiment run with several seeds: per round, the mean ± standard deviation of the tickets' and
    each control's `split` accuracy, and how many runs have that round."""
    key = f"{split}_accuracy"
    series = {"IMP": [run.get("rounds", []) for run in runs]}
    for kind in sorted({k for run in runs for k in run.get("controls", {})}):
        series[CONTROL_LABELS.get(kind, kind)] = [run.get("controls", {}).get(kind, []) for run in runs]
    by_round = {label: {} for label in series}  # label -> round -> the records of that round that have `key`
    for label, per_run in series.items():
        for records in per_run:
            for r in records:
                if r.get(key) is not None:
                    by_round[label].setdefault(r["round"], []).append(r)
    header = ["round", "sparsity %", "runs"] + [f"{label} {split} acc % (mean ± std)" for label in series]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, tickets in sorted(by_round["IMP"].items()):
        cells = [str(index), f"{100 * statistics.fmean(r['sparsity'] for r in tickets):.1f}", str(len(tickets))]
        for label in series:
            values = [100 * r[key] for r in by_round[label].get(index, [])]
            if not values:
                cells.append("–")
                continue
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            partial = "" if len(values) == len(runs) else f" (n={len(values)})"
            cells.append(f"{statistics.fmean(values):.2f} ± {spread:.2f}{partial}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(results: dict[str, Any], split: str = "test", near: float = 0.9,
             folder: str | Path | None = None) -> dict[str, Any]:
    """The figures a reader wants first, as fractions (see `describe_headline` for them in words).

    Dense's `split` score; the best ticket (chosen on validation); the sparsest pruned round that *matches* dense
    and the sparsest that *matches or exceeds* it (`hf_lth.stats.verdicts`, judged on validation: within one
    standard error of dense's validation score over its examples, since one run has no spread over seeds; needs
    the rounds' predictions, so `folder`); IMP minus each control at the pruned round with controls nearest `near`
    sparsity (None where either run is degenerate), with its paired interval and McNemar p on `split`, and whether
    it beats the control on validation. The score is the selection metric (accuracy, or macro-F1). Sparsities are
    given of all prunable weights and without the embedding. With `folder`, scores come with 95% intervals over
    the split's examples."""
    from .stats.lookup import round_predictions

    rounds = results.get("rounds", [])
    metric = results.get("selection_metric", "eval_accuracy").removeprefix("eval_")
    key, val_key = f"{split}_{metric}", f"eval_{metric}"
    dense = next((r for r in rounds if r["round"] == 0), None)
    branch = results.get("branch")
    predictions = (lambda index, control=None: round_predictions(folder, branch, index, control)) if folder else None
    out: dict[str, Any] = {"split": split, "metric": metric, "dense_accuracy": dense.get(key) if dense else None}
    if dense and predictions:
        out["dense_interval"] = _interval(predictions(0), split, metric)
    best = next((r for r in rounds if r["round"] == results.get("best_round")), None)
    if best:
        out.update(best_round=best["round"], best_sparsity=best["sparsity"],
                   best_sparsity_without_embedding=best.get("sparsity_without_embedding"), best_accuracy=best.get(key))
        if predictions:
            out["best_interval"] = _interval(predictions(best["round"]), split, metric)
    dense_val = _interval(predictions(0), "eval", metric) if dense and predictions else None
    if dense_val is not None and dense.get(val_key) is not None:
        se = (dense_val.high - dense_val.low) / (2 * 1.959964)
        usable = [r for r in rounds if r["round"] > 0 and r.get(val_key) is not None and not r.get("collapsed")]
        for name, floor in (("matching", dense[val_key] - se), ("matching_or_exceeding", dense[val_key])):
            sparsest = max((r for r in usable if r[val_key] >= floor), key=lambda r: r["sparsity"], default=None)
            out[f"sparsest_{name}"] = sparsest["sparsity"] if sparsest else None
            out[f"sparsest_{name}_without_embedding"] = sparsest.get("sparsity_without_embedding") if sparsest else None
            out[f"sparsest_{name}_round"] = sparsest["round"] if sparsest else None
        out["matching_tolerance"] = se
    controls = results.get("controls", {})
    with_controls = {c["round"] for records in controls.values() for c in records if c.get(key) is not None}
    pruned = [r for r in rounds if r["round"] > 0 and r.get(key) is not None and (r["round"] in with_controls or not controls)]
    if pruned:
        target = min(pruned, key=lambda r: abs(r["sparsity"] - near))
        out.update(compared_round=target["round"], compared_sparsity=target["sparsity"],
                   compared_sparsity_without_embedding=target.get("sparsity_without_embedding"))
        for kind, records in controls.items():
            match = next((c for c in records if c["round"] == target["round"] and c.get(key) is not None), None)
            if match:
                failed = [name for name, r in (("IMP", target), (kind, match)) if r.get("collapsed")]
                out[f"imp_minus_{kind}"] = None if failed else target[key] - match[key]
                if failed:
                    out[f"imp_minus_{kind}_collapsed"] = failed
                elif predictions:
                    ticket, control = predictions(target["round"]), predictions(target["round"], kind)
                    if ticket and control:
                        out[f"imp_minus_{kind}_interval"] = _paired(ticket, control, split, metric)
                        validation = _paired(ticket, control, "eval", metric)
                        out[f"imp_beats_{kind}"] = None if validation is None else validation.above_zero
    return out


def _interval(predictions, split: str, metric: str):
    """A run's 95% interval over the examples of `split`, or None without predictions or labels."""
    from .stats.intervals import example_interval

    preds = (predictions or {}).get(split)
    if preds is None or preds.labels is None:
        return None
    return example_interval(preds.predicted, preds.labels, metric=metric)


def _paired(ticket, control, split: str, metric: str):
    """Ticket minus control on the examples of `split`: paired interval and McNemar p (None without them)."""
    from .stats.intervals import paired_difference

    a, b = ticket.get(split), control.get(split)
    if a is None or b is None or a.labels is None:
        return None
    return paired_difference(a.predicted, b.predicted, a.labels, metric=metric)


def describe_headline(figures: dict[str, Any]) -> list[str]:
    """`headline`'s figures as sentences, in percent and points."""
    split = "validation" if figures.get("split") == "eval" else figures.get("split", "test")
    metric = "macro-F1" if figures.get("metric") == "f1" else "accuracy"

    def sparsity(prefix: str) -> str:
        value, without = figures.get(f"{prefix}"), figures.get(f"{prefix}_without_embedding")
        text = f"{_round_sparsity(value)}% of prunable weights"
        if without is not None and abs(without - value) >= 5e-4:
            text += f" ({_round_sparsity(without)}% without the embedding)"
        return text

    def score(value: float, interval) -> str:
        return f"{interval.format()}" if interval is not None else f"{100 * value:.2f}"

    lines = []
    if figures.get("dense_accuracy") is not None:
        lines.append(f"dense model: {score(figures['dense_accuracy'], figures.get('dense_interval'))}% {split} {metric}")
    if figures.get("best_round") is not None:
        accuracy = figures.get("best_accuracy")
        lines.append(f"best ticket (chosen on validation): round {figures['best_round']}, {sparsity('best_sparsity')}"
                     + (f", {score(accuracy, figures.get('best_interval'))}% {split} {metric}"
                        if accuracy is not None else ""))
    else:
        lines.append("best ticket: none (every round collapsed or has no validation metric)")
    if "matching_tolerance" in figures:
        tolerance = 100 * figures["matching_tolerance"]
        for name, words in (("matching", f"matches dense (validation {metric} within one standard error, "
                                          f"{tolerance:.2f} points, of dense's)"),
                            ("matching_or_exceeding", f"matches or exceeds dense (validation {metric} at least dense's)")):
            value = figures.get(f"sparsest_{name}")
            where = "none" if value is None else f"round {figures[f'sparsest_{name}_round']}, {sparsity(f'sparsest_{name}')}"
            lines.append(f"sparsest ticket that {words}: {where}")
    else:
        lines.append("matching dense: not judged (the rounds kept no per-example predictions)")
    if figures.get("compared_round") is not None:
        where = f"round {figures['compared_round']}, {sparsity('compared_sparsity')}"
        for key, value in figures.items():
            if key.startswith("imp_minus_") and not key.endswith(("_collapsed", "_interval")):
                kind_key = key[len("imp_minus_"):]
                kind = CONTROL_LABELS.get(kind_key, kind_key)
                if value is None:
                    failed = " and ".join(figures.get(f"{key}_collapsed", []))
                    lines.append(f"IMP ticket minus {kind} at {where}: not comparable ({failed} collapsed to one class)")
                    continue
                interval = figures.get(f"{key}_interval")
                text = f"IMP ticket minus {kind} at {where}: {100 * value:+.2f} points ({split} {metric})"
                if interval is not None:
                    text = (f"IMP ticket minus {kind} at {where}: {interval.format(signed=True)} points ({split} "
                            f"{metric}, 95% paired interval; McNemar p = {interval.p_value:.2g})")
                beats = figures.get(f"imp_beats_{kind_key}")
                if beats is not None:
                    text += "; beats it on validation" if beats else "; no difference detected on validation"
                lines.append(text)
    return lines


def _title(results: dict[str, Any]) -> str:
    """A title and the run's settings in one line."""
    rounds = results.get("rounds", [])
    first = next((r for r in rounds if r["round"] > 0), rounds[0] if rounds else {})
    settings = results.get("experiment", {})
    name = first.get("model_name_or_path") or settings.get("model_args.model_name_or_path", "model")
    data = first.get("dataset") or "data"
    line = f" (branch {results['branch']})" if results.get("branch") else ""
    parts = [f"{first.get('strategy', '?')}", f"{first.get('prune_schedule', 'geometric')} schedule at "
             f"{first.get('prune_rate', '?')} per round", f"rewind {first.get('rewind', '?')}",
             f"scope {first.get('prune_scope', 'auto')}", f"seed {first.get('seed', settings.get('seed', '?'))}",
             f"selection on validation {results.get('selection_metric', 'eval_accuracy').removeprefix('eval_')}"]
    notes = "" if results.get("controls") else " No control was run: whether the ticket is special is not tested."
    return (f"# Lottery tickets: {name} on {data}{line}\n\n{'; '.join(parts)}. Ties between rounds go to the "
            f"sparser one.{notes}\n")


def _round_sparsity(value: float) -> str:
    """A sparsity in percent with one decimal (0.19999999999999996 -> 20.0)."""
    return f"{100 * value:.1f}"


def seeds_headline(runs: list[dict[str, Any]], split: str = "test", **kwargs: float) -> dict[str, tuple[float, float, int]]:
    """`headline` of each run (one seed each), summarised as (mean, standard deviation, number of runs) per figure.

    IMP minus a control is paired within each seed before it is averaged; the rounds are the same across seeds,
    so the sparsities are too. Figures that only some runs have are averaged over those."""
    per_run = [headline(run, split=split, **kwargs) for run in runs]
    keys = dict.fromkeys(k for figures in per_run for k, v in figures.items() if isinstance(v, float))
    out = {}
    for key in keys:
        values = [figures[key] for figures in per_run if figures.get(key) is not None]
        if values:
            out[key] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))
    return out


def plot_accuracy_vs_sparsity(
    results: dict[str, Any] | list[dict[str, Any]], path: str | Path, split: str = "test", title: str | None = None
) -> Path:
    """Plot the tickets' and each control's `split` metric against sparsity; write a PNG to `path`.

    The metric is accuracy, or macro-F1 where it selected the tickets; without `split` metrics (no test file) the
    validation ones are plotted. The dense model is a dashed line, the best ticket a star, collapsed rounds
    red crosses; where the embedding is prunable, the top axis gives the sparsity without it. Given several
    experiments (seeds), each curve is their mean per round with a band of one standard deviation.

    Args:
        results: one experiment's results (the contents of `lth_results.json`), or a list of them, one per seed.
        path: where to write the PNG.
        split: `"test"` or `"eval"` (validation).
        title: the plot's title; None for "Accuracy versus sparsity".

    Returns:
        The PNG's path.
    """
    runs = results if isinstance(results, list) else [results]
    metric = "f1" if runs[0].get("selection_metric") == "eval_f1" else "accuracy"
    if split != "eval" and not any(f"{split}_{metric}" in r for run in runs for r in run.get("rounds", [])):
        split = "eval"
    key = f"{split}_{metric}"
    fig, ax = _new_figure()
    series = {"IMP ticket": [run.get("rounds", []) for run in runs]}
    for kind in sorted({k for run in runs for k in run.get("controls", {})}):
        series[CONTROL_LABELS.get(kind, kind)] = [run.get("controls", {}).get(kind, []) for run in runs]
    collapsed = []
    for label, per_run in series.items():
        sparsity, mean, std = _mean_curve(per_run, key)
        if sparsity:
            line = ax.plot(sparsity, mean, marker="o", label=label)[0]
            if len(runs) > 1:
                ax.fill_between(sparsity, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                                color=line.get_color(), alpha=0.2)
        collapsed += [(100 * r["sparsity"], 100 * r[key]) for records in per_run for r in records
                      if r.get("collapsed") and r.get(key) is not None]
    if collapsed:
        ax.scatter(*zip(*collapsed), marker="x", s=70, color="red", zorder=5, label="collapsed (one class)")
    _, dense, _ = _mean_curve([[r for r in run.get("rounds", []) if r["round"] == 0] for run in runs], key)
    if dense:
        ax.axhline(dense[0], color="grey", linestyle="--", linewidth=1, label="dense")
    if len(runs) == 1:
        best = next((r for r in runs[0].get("rounds", []) if r["round"] == runs[0].get("best_round")), None)
        if best and best.get(key) is not None:
            ax.scatter([100 * best["sparsity"]], [100 * best[key]], marker="*", s=220, color="gold", edgecolor="black",
                       zorder=6, label="best ticket (validation)")
    _embedding_free_axis(ax, runs[0].get("rounds", []))
    title = title or "Accuracy versus sparsity" + (f" (mean ± std of {len(runs)} runs)" if len(runs) > 1 else "")
    return _save_figure(fig, ax, split, title, path, metric)


def plot_comparison(runs: dict[str, dict[str, Any]], path: str | Path, split: str = "test", title: str | None = None) -> Path:
    """Plot `split` accuracy against sparsity, one curve per experiment in `runs` (label -> results)."""
    fig, ax = _new_figure()
    for label, results in runs.items():
        sparsity, accuracy, _ = _mean_curve([results.get("rounds", [])], f"{split}_accuracy")
        if sparsity:
            ax.plot(sparsity, accuracy, marker="o", label=label)
    return _save_figure(fig, ax, split, title or "Accuracy versus sparsity", path)


def _embedding_free_axis(ax, rounds: list[dict[str, Any]]) -> None:
    """A top axis with the sparsity without the embedding, where it differs from the bottom one.

    Args:
        ax: the accuracy-versus-sparsity axes (bottom axis: sparsity of all prunable weights, in %).
        rounds: the round records holding `sparsity` and `sparsity_without_embedding` (fractions).
    """
    pairs = sorted({(100 * r["sparsity"], 100 * r["sparsity_without_embedding"]) for r in rounds
                    if r.get("sparsity_without_embedding") is not None})
    if len(pairs) < 2 or all(abs(a - b) < 0.05 for a, b in pairs):
        return
    import numpy as np

    by_sparsity: dict[float, list[float]] = {}  # several runs (seeds) split the cut a little differently
    for overall, without in pairs:
        by_sparsity.setdefault(round(overall, 1), []).append(without)
    bottom = np.array(sorted(by_sparsity))
    if len(bottom) < 2:
        return
    top = np.maximum.accumulate([float(np.mean(by_sparsity[k])) for k in bottom])  # monotonic, to invert
    top = top + 1e-6 * np.arange(len(top))  # strictly increasing: a flat step has no inverse
    secondary = ax.secondary_xaxis("top", functions=(_piecewise_linear(bottom, top), _piecewise_linear(top, bottom)))
    secondary.set_xticks([tick for tick in range(0, 101, 10) if tick <= top[-1]])  # no tick beyond the last round
    secondary.set_xlabel("sparsity without the embedding (%)")


def _piecewise_linear(xs, ys):
    """x -> y through the points (`xs` and `ys` strictly increasing), continued beyond both ends along the end
    segments. `np.interp` alone clamps there, and the padded plot then places the top axis's ticks wrongly.

    Args:
        xs: the points' x values, strictly increasing.
        ys: the points' y values, strictly increasing.

    Returns:
        The function, on numbers or arrays; with `xs` and `ys` swapped it is its inverse.
    """
    import numpy as np

    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    low, high = (ys[1] - ys[0]) / (xs[1] - xs[0]), (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])

    def f(x):
        x = np.asarray(x, dtype=float)
        y = np.interp(x, xs, ys)
        y = np.where(x < xs[0], ys[0] + low * (x - xs[0]), y)
        return np.where(x > xs[-1], ys[-1] + high * (x - xs[-1]), y)

    return f


def _new_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.6))


def _save_figure(fig, ax, split: str, title: str, path: str | Path, metric: str = "accuracy") -> Path:
    """Label the axes, write the PNG to `path` (folders made as needed) and free the figure."""
    import matplotlib.pyplot as plt

    ax.set_xlabel("sparsity of all prunable weights (%)")
    name = "macro-F1" if metric == "f1" else "accuracy"
    ax.set_ylabel(f"{'validation' if split == 'eval' else split} {name} (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _mean_curve(per_run: list[list[dict[str, Any]]], key: str) -> tuple[list[float], list[float], list[float]]:
    """Per round index: mean sparsity (%), mean and standard deviation of `key` (%) over the runs that have it."""
    by_round: dict[int, list[tuple[float, float]]] = {}
    for records in per_run:
        for r in records:
            if r.get(key) is not None:
                by_round.setdefault(r["round"], []).append((100 * r["sparsity"], 100 * r[key]))
    sparsity, mean, std = [], [], []
    for index in sorted(by_round):
        values = by_round[index]
        accuracies = [a for _, a in values]
        sparsity.append(statistics.fmean(s for s, _ in values))
        mean.append(statistics.fmean(accuracies))
        std.append(statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0)
    return sparsity, mean, std


def describe_seeds_headline(summary: dict[str, tuple[float, float, int]]) -> list[str]:
    """`seeds_headline`'s figures as lines, in percent (sparsities, accuracies) and points (differences)."""
    lines = []
    for key, (mean, std, n) in summary.items():
        unit = "points" if key.startswith("imp_minus_") else "%"
        if key.endswith("round"):
            continue
        lines.append(f"{key.replace('_', ' ')}: {100 * mean:.2f} ± {100 * std:.2f} {unit} (n={n})")
    return lines


def load_branches(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The results of each branch of the experiment in `folder` (name -> results)."""
    return {name: json.loads(line.results_path.read_text(encoding="utf-8"))
            for name, line in ExperimentFolder(folder).branch_folders().items() if line.results_path.is_file()}


def load_results(folder: str | Path) -> dict[str, Any]:
    path = ExperimentFolder(folder).results_path
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {folder} the output_dir of a finished experiment?")
    return json.loads(path.read_text(encoding="utf-8"))


def write_report(folder: str | Path, split: str = "test") -> tuple[str, Path]:
    """Write what `hf-lth-report FOLDER` shows into an experiment folder (or a branch's).

    That is `report.md` (the round table, the headline figures in words and, where there are branches, their
    comparison) and the plot `accuracy_vs_sparsity.png` (`branches.png` too).

    Args:
        folder: the experiment's (or a branch's) folder, holding `lth_results.json`.
        split: the split the headline figures and plots use: `"test"` or `"eval"` (validation).

    Returns:
        The report's text and the plot's path.

    Raises:
        FileNotFoundError: `folder` holds no `lth_results.json`.
    """
    experiment = ExperimentFolder(folder)
    folder = Path(folder)
    results = load_results(folder)
    parts = [_title(results), round_table(results, folder),
             "\n".join(describe_headline(headline(results, split=split, folder=folder)))]
    branches = load_branches(folder)
    if branches:
        lines = {"main": results, **branches}
        parts.append("Branches of this experiment (same round 0):\n\n" + comparison_table(lines, split))
        plot_comparison(lines, experiment.branches_plot_path, split)
    parts.append(f"![{results.get('selection_metric', 'eval_accuracy').removeprefix('eval_')} against sparsity]"
                 f"({PLOT_FILE})")
    text = "\n\n".join(parts) + "\n"
    experiment.report_path.write_text(text, encoding="utf-8")
    return text, plot_accuracy_vs_sparsity(results, experiment.plot_path, split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Round table and accuracy-vs-sparsity plot of LTH experiments.")
    parser.add_argument("output_dirs", nargs="+", metavar="output_dir",
                        help="experiment folder(s) holding lth_results.json; several are compared side by side")
    parser.add_argument("--plot", help="PNG path (default OUTPUT_DIR/accuracy_vs_sparsity.png for one folder, "
                                       "accuracy_vs_sparsity_eval.png with --split eval)")
    parser.add_argument("--split", default="test", choices=["eval", "test"],
                        help="the split whose accuracy the plot and the headline show: test (default) or eval "
                             "(validation; its plot is accuracy_vs_sparsity_eval.png); matching is always judged "
                             "on validation")
    parser.add_argument("--labels", help="comma-separated names of the folders in the comparison (default: their names)")
    parser.add_argument("--seeds", action="store_true", help="the folders are one experiment with several seeds: "
                                                             "report the mean and standard deviation")
    args = parser.parse_args(argv)
    try:
        runs = [load_results(folder) for folder in args.output_dirs]
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(runs) == 1 and not args.seeds:
        results, folder = runs[0], args.output_dirs[0]
        print(_title(results))
        print(round_table(results, folder))
        print("\n" + "\n".join(describe_headline(headline(results, split=args.split, folder=folder))))
        branches = load_branches(folder)
        if branches:
            lines = {"main": results, **branches}
            print("\nBranches of this experiment (same round 0):\n\n" + comparison_table(lines, args.split))
            branches_plot = ExperimentFolder(folder).branches_plot_path
            print(f"\nbranch plot written to {plot_comparison(lines, branches_plot, args.split)}")
        # the test-split plot is the one an experiment publishes: another split's plot gets a name of its own
        plot = plot_accuracy_vs_sparsity(results, args.plot or ExperimentFolder(folder).split_plot_path(args.split),
                                         args.split)
    else:
        if not args.plot:
            print("error: with several folders, give --plot PATH for the figure.", file=sys.stderr)
            return 2
        labels = args.labels.split(",") if args.labels else [Path(folder).resolve().name for folder in args.output_dirs]
        if len(labels) != len(runs):
            print(f"error: {len(labels)} labels for {len(runs)} folders.", file=sys.stderr)
            return 2
        if args.seeds:
            print(seeds_table(runs, args.split))
            summary = seeds_headline(runs, split=args.split)
            print("\n" + "\n".join(describe_seeds_headline(summary)))
            plot = plot_accuracy_vs_sparsity(runs, args.plot, args.split)
        else:
            compared = dict(zip(labels, runs))
            print(comparison_table(compared, args.split))
            plot = plot_comparison(compared, args.plot, args.split)
    print(f"\nplot written to {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
