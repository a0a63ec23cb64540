"""The report's text: the round table, experiments side by side, seeds averaged, and the headline figures (dense,
best ticket, sparsest matching ticket, IMP minus each control) as numbers and in words."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any


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
    from ..stats.lookup import round_predictions

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
    from ..stats.lookup import round_predictions

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
    from ..stats.intervals import example_interval

    preds = (predictions or {}).get(split)
    if preds is None or preds.labels is None:
        return None
    return example_interval(preds.predicted, preds.labels, metric=metric)


def _paired(ticket, control, split: str, metric: str):
    """Ticket minus control on the examples of `split`: paired interval and McNemar p (None without them)."""
    from ..stats.intervals import paired_difference

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


def title(results: dict[str, Any]) -> str:
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


def describe_seeds_headline(summary: dict[str, tuple[float, float, int]]) -> list[str]:
    """`seeds_headline`'s figures as lines, in percent (sparsities, accuracies) and points (differences)."""
    lines = []
    for key, (mean, std, n) in summary.items():
        unit = "points" if key.startswith("imp_minus_") else "%"
        if key.endswith("round"):
            continue
        lines.append(f"{key.replace('_', ' ')}: {100 * mean:.2f} ± {100 * std:.2f} {unit} (n={n})")
    return lines
