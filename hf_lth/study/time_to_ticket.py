"""The time-to-ticket report: each method's ticket at given sparsities, judged on validation, against what it cost.

A study file's `report: {kind: time_to_ticket, references: [...], targets: {LABEL: {LINE: ROUND}}}` names, for
each sparsity, the round at which each line reaches it, and the IMP lines every method is compared with. For every
method at every target, over the seeds:

- its validation and test score (95% intervals, `hf_lth.study.records`) and whether it *reaches a ticket*: it
  matches dense on validation (`hf_lth.stats.verdicts.matches_dense`, Chen et al. 2020);
- method − each reference, paired by seed (and by example where predictions are kept), on validation (the verdict:
  above, below, or no difference detected) and on test (reported, Holm-corrected over the report);
- method − each of its controls (beats it: the paired validation interval above zero);
- two costs, both measured from the records and each relative to every reference: **training steps** (optimizer
  steps of the rounds the ticket needed, plus early-bird's search) and **everything** in seconds (those rounds'
  training, early-bird's search, every evaluation pass on validation and test, and the controls run on this
  ticket), priced at the study's median recorded seconds per step and per evaluated round (`Rates`: a round's
  recorded seconds include other jobs' load and any pause of the studies, which the median leaves out; their
  plain sum is shown beside it). A line that prunes trained weights (IMP, one-shot) pays the trunk's round 0;
  GMP and early-bird train from the initial weights and do not.

Lines or seeds that have not finished are named. Degenerate runs are left out of every mean and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..stats.intervals import Interval, holm
from .records import (LineRecords, Run, format_interval, has_interval, load_lines, mean_field, over_seeds,
                      selection_metric)
from .report import CONTROL_LABELS, _entry_text, _matching, _pair_entry, _runs
from .spec import MAIN_LINE, Study

TRUNK_FREE_METHODS = ("gmp", "early_bird")  # train from the initial weights: no dense round 0 to pay for


@dataclass
class Cost:
    """What one ticket of one seed cost: counts from its records, and seconds.

    Args:
        steps: optimizer steps of those rounds (early-bird's search included; the trunk's where paid).
        trunk_steps: of which the trunk's round 0 (0 where not paid).
        evaluations: evaluated rounds (each one pass over validation and one over test).
        control_steps: optimizer steps of the controls run on this ticket.
        controls: how many controls ran on it (each evaluated once).
        measured_s: the recorded seconds summed (training, search, evaluation, controls), pauses and all.
    """

    steps: int
    trunk_steps: int
    evaluations: int
    control_steps: int
    controls: int
    measured_s: float
    seconds: float = 0.0
    evaluation_s: float = 0.0
    controls_s: float = 0.0


@dataclass
class Rates:
    """Seconds per unit, each the median over every record of the study: a round's recorded seconds include other
    jobs' load and any pause of the studies, which the median leaves out.

    Args:
        step_s: seconds per optimizer step (`train_time_s / train_steps` of every round and control; early-bird's
            search likewise). Every line trains the same model on the same batches, so one rate prices them all:
            GMP's and early-bird's own overheads (masks every 4 steps) are not separable from the load in these
            records.
        evaluation_s: seconds of one evaluated round (its validation and test passes).
    """

    step_s: float
    evaluation_s: float

    def price(self, cost: Cost) -> Cost:
        """`cost` with its seconds at these rates."""
        cost.evaluation_s = (cost.evaluations + cost.controls) * self.evaluation_s
        cost.controls_s = cost.control_steps * self.step_s + cost.controls * self.evaluation_s
        cost.seconds = (cost.steps + cost.control_steps) * self.step_s + cost.evaluation_s
        return cost


@dataclass
class Method:
    """One line at one target, over the seeds."""

    line: str
    round: int
    runs: list[Run]
    degenerate: list[int]
    missing: list[int]
    costs: dict[int, Cost]
    sparsity: float | None = None
    sparsity_without_embedding: float | None = None
    validation: Interval | None = None
    test: Interval | None = None
    matching: dict[str, Any] | None = None
    versus: dict[str, dict[str, Any]] = field(default_factory=dict)
    controls: dict[str, dict[str, Any]] = field(default_factory=dict)
    early_bird_steps: list[Any] = field(default_factory=list)


def _evaluation_seconds(record: dict[str, Any]) -> float:
    """The seconds a round spent evaluating (validation and test passes): `eval_time_s` where recorded, else the
    Trainer's `eval_runtime` + `test_runtime`."""
    if record.get("eval_time_s") is not None:
        return float(record["eval_time_s"])
    return float(record.get("eval_runtime") or 0.0) + float(record.get("test_runtime") or 0.0)


def _measured(record: dict[str, Any]) -> float:
    return float(record["train_time_s"]) + float(record.get("search_time_s") or 0.0) + _evaluation_seconds(record)


def ticket_cost(line: LineRecords, trunk: LineRecords | None, index: int) -> Cost | None:
    """What round `index` of `line` cost (see the module docstring); None when a round it needed is missing.

    Args:
        line: the line's records of one seed.
        trunk: the main line's records of the same seed (its round 0 is the trunk).
        index: the round that reaches the target.
    """
    rounds = [line.record(i) for i in range(1, index + 1)]
    if any(r is None for r in rounds):
        return None
    trunk_steps = 0
    if rounds[-1].get("method") not in TRUNK_FREE_METHODS:
        dense = (trunk or line).record(0)
        if dense is None:
            return None
        rounds = [dense] + rounds
        trunk_steps = int(dense["train_steps"])
    controls = [c for kind in line.results.get("controls", {}) for c in [line.record(index, kind)] if c is not None]
    return Cost(steps=sum(int(r["train_steps"]) + int(r.get("search_steps") or 0) for r in rounds),
                trunk_steps=trunk_steps, evaluations=len(rounds),
                control_steps=sum(int(c["train_steps"]) for c in controls), controls=len(controls),
                measured_s=sum(_measured(r) for r in rounds + controls))


def study_rates(loaded: dict[str, dict[int, LineRecords]]) -> Rates:
    """The median seconds per optimizer step and per evaluated round over every record of the study (`Rates`)."""
    steps, evaluations = [], []
    for name, by_seed in loaded.items():
        for line in by_seed.values():
            records = [r for r in line.results.get("rounds", []) if r["round"] > 0 or name == MAIN_LINE]
            records += [r for kind in line.results.get("controls", {}).values() for r in kind]
            for record in records:
                count = int(record.get("train_steps") or 0) + int(record.get("search_steps") or 0)
                if count:
                    steps.append((float(record["train_time_s"]) + float(record.get("search_time_s") or 0.0)) / count)
                evaluations.append(_evaluation_seconds(record))
    return Rates(float(np.median(steps)) if steps else 0.0, float(np.median(evaluations)) if evaluations else 0.0)


def time_to_ticket(study: Study, metric: str | None = None) -> tuple[dict[str, list[Method]], str]:
    """Every target's methods over the seeds (see the module docstring), and the metric."""
    loaded = load_lines(study)
    metric = metric or (study.report.metrics or [None])[0] or selection_metric(loaded)
    main = loaded.get(MAIN_LINE, {})
    rates = study_rates(loaded)
    dense, _ = _runs(main, 0)
    table: dict[str, list[Method]] = {}
    for label, rounds in study.report.targets.items():
        methods = []
        for name, index in rounds.items():
            by_seed = loaded.get(name, {})
            runs, degenerate = _runs(by_seed, index)
            done = {r.seed for r in runs} | set(degenerate)
            costs = {seed: rates.price(cost) for seed in done
                     if (cost := ticket_cost(by_seed[seed], main.get(seed), index)) is not None}
            method = Method(name, index, runs, degenerate, [s for s in study.seeds if s not in done], costs)
            records = [line.record(index) for line in by_seed.values() if line.record(index)]
            if records:
                method.sparsity = records[0]["sparsity"]
                method.sparsity_without_embedding = mean_field(records, "sparsity_without_embedding")
                method.early_bird_steps = [line.record(index).get("early_bird_step") for _, line in
                                           sorted(by_seed.items()) if line.record(index) is not None
                                           and line.record(index).get("method") == "early_bird"]
            method.validation = over_seeds(runs, "eval", metric)
            method.test = over_seeds(runs, "test", metric)
            if runs and dense:
                method.matching = _matching(runs, dense, metric)
            for kind in sorted({k for line in by_seed.values() for k in line.results.get("controls", {})}):
                controls, flagged = _runs(by_seed, index, kind)
                mine = [r for r in runs if r.seed in {c.seed for c in controls}]
                if mine or flagged:
                    method.controls[kind] = _pair_entry(mine, controls, flagged, metric)
            methods.append(method)
        for method in methods:
            for reference in study.report.references:
                ref = next((m for m in methods if m.line == reference), None)
                if ref is not None and ref is not method and method.runs and ref.runs:
                    method.versus[reference] = _pair_entry(method.runs, ref.runs, ref.degenerate, metric)
        table[label] = methods
    entries = [e for methods in table.values() for m in methods for e in [*m.versus.values(), *m.controls.values()]
               if e.get("test") is not None and e["test"].p_value is not None]
    for entry, adjusted in zip(entries, holm([e["test"].p_value for e in entries])):
        entry["holm_p"] = adjusted
    return table, metric


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def relative_cost(method: Method, reference: Method, attribute: str) -> float | None:
    """Mean cost of `method` over its seeds / mean cost of `reference` over its seeds (None if either is empty)."""
    mine = _mean([getattr(c, attribute) for c in method.costs.values()])
    theirs = _mean([getattr(c, attribute) for c in reference.costs.values()])
    return mine / theirs if mine is not None and theirs else None


def _verdict_on_validation(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("validation") is None:
        return "–"
    validation = entry["validation"]
    if not has_interval(validation):
        return f"{format_interval(validation, signed=True)} (one seed: no verdict)"
    word = "above" if validation.low > 0 else "below" if validation.high < 0 else "no difference detected"
    return f"{format_interval(validation, signed=True)}: {word}"


def time_to_ticket_table(study: Study) -> str:
    """The report in Markdown: per target, a verdict table and a cost table, then the conclusions."""
    table, metric = time_to_ticket(study)
    name = "macro-F1" if metric == "f1" else "accuracy"
    references = study.report.references
    text = [f"# Study {study.name}: time to ticket", "", " ".join(study.description.split()), "",
            f"Seeds {study.seeds}. Scores are {name} in percent; every verdict reads validation, test is reported. "
            f"References: {', '.join(references)}."]
    missing = sorted({f"{m.line} round {m.round} (seeds {', '.join(map(str, m.missing))})"
                      for methods in table.values() for m in methods if m.missing})
    if missing:
        text += ["", "**Not finished yet** (still running, or not run), left out below: " + "; ".join(missing) + "."]
    kinds = sorted({k for methods in table.values() for m in methods for k in m.controls})
    for label, methods in table.items():
        refs = {r: next((m for m in methods if m.line == r), None) for r in references}
        header = ["line (round)", "sparsity % (all / w/o emb.)", "seeds", f"val {name} %", f"test {name} % [95% CI]",
                  "reaches a ticket: matches dense (val)"]
        header += [f"− {r}: val diff [95% CI], verdict" for r in references]
        header += [f"− {r}: test diff [95% CI], Holm p" for r in references]
        header += [f"− {CONTROL_LABELS.get(k, k)}: test diff, Holm p, beats on val" for k in kinds]
        text += ["", f"## At {label} sparsity", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for m in methods:
            sparsity = "–" if m.sparsity is None else f"{100 * m.sparsity:.1f}" + (
                f" / {100 * m.sparsity_without_embedding:.1f}" if m.sparsity_without_embedding is not None else "")
            seeds = str(len(m.runs)) + (f" ({len(m.degenerate)} degenerate, left out)" if m.degenerate else "")
            if m.matching is None:
                verdict = "–"
            else:
                verdict = ("yes, matches or exceeds" if m.matching["matches_or_exceeds"] else
                           "yes, matches" if m.matching["matches"] else "no") + f" ({100 * m.matching['gap']:+.2f})"
            row = [f"{m.line} ({m.round})", sparsity, seeds,
                   f"{100 * m.validation.estimate:.2f}" if m.validation else "–", format_interval(m.test), verdict]
            row += ["–" if r == m.line else _verdict_on_validation(m.versus.get(r)) for r in references]
            row += ["–" if r == m.line or not m.versus.get(r) else
                    format_interval(m.versus[r].get("test"), signed=True)
                    + (f", p={m.versus[r]['holm_p']:.2g}" if "holm_p" in m.versus[r] else "") for r in references]
            row += [_entry_text(m.controls.get(k)) for k in kinds]
            text.append("| " + " | ".join(row) + " |")
        header = ["line (round)", "training steps"] + [f"× {r}" for r in references]
        header += ["everything (s)"] + [f"× {r}" for r in references]
        header += ["of which evaluation (s)", "of which controls (s)", "recorded seconds, summed",
                   "early-bird stopped at step"]
        text += ["", "Costs, mean over the seeds that finished:", "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for m in methods:
            if not m.costs:
                text.append(f"| {m.line} ({m.round}) |" + " – |" * (len(header) - 1))
                continue
            costs = list(m.costs.values())
            row = [f"{m.line} ({m.round})", f"{_mean([c.steps for c in costs]):.0f}"]
            row += [_ratio(m, refs[r], "steps") for r in references]
            row += [f"{_mean([c.seconds for c in costs]):.0f}"] + [_ratio(m, refs[r], "seconds") for r in references]
            row += [f"{_mean([c.evaluation_s for c in costs]):.0f}", f"{_mean([c.controls_s for c in costs]):.0f}",
                    f"{_mean([c.measured_s for c in costs]):.0f}",
                    ", ".join("never" if s is None else str(s) for s in m.early_bird_steps)]
            text.append("| " + " | ".join(row) + " |")
        text += ["", *_conclusions(methods, refs)]
    text += ["", "*Reaches a ticket*: matches dense on validation (Chen et al. 2020: mean validation score within one "
             "standard deviation over seeds of dense's; the signed number is the gap in points). *Method − "
             "reference*: paired by seed (and by example where predictions are kept), 95% interval over seeds and "
             "examples; the verdict reads validation. Holm's correction runs over every test comparison of this "
             "report. Costs are measured from the records: training steps (optimizer steps of every round the ticket "
             "needed, early-bird's search included; IMP and one-shot pay the dense round 0 they prune, GMP and "
             "early-bird do not), and everything in seconds (those rounds' training and search, every evaluation "
             "pass on validation and test, and the controls run on this ticket), each divided by the reference's. "
             "Everything is priced at the study's median recorded seconds per optimizer step and per evaluated round "
             "(medians over every record: a single round's recorded seconds include other jobs' load and pauses of "
             "the studies; their plain sum is the column before last)."]
    return "\n".join(text) + "\n"


def _ratio(method: Method, reference: Method | None, attribute: str) -> str:
    value = relative_cost(method, reference, attribute) if reference is not None else None
    return "–" if value is None else f"{value:.2f}"


def _conclusions(methods: list[Method], refs: dict[str, Method | None]) -> list[str]:
    lines = []
    for name, ref in refs.items():
        if ref is None or not ref.costs:
            lines.append(f"- {name}: not finished, no comparison.")
            continue
        reached = "reaches a ticket" if ref.matching and ref.matching["matches"] else "does not reach a ticket"
        lines.append(f"- {name} (round {ref.round}) itself {reached} on validation.")
        cheaper = [m for m in methods if m is not ref and m.costs and m.matching and m.matching["matches"]
                   and (relative_cost(m, ref, "seconds") or 1e9) < 1]
        if not cheaper:
            lines.append(f"  - No cheaper method reaches a ticket (matches dense on validation) here, against {name}.")
            continue
        best = min(cheaper, key=lambda m: relative_cost(m, ref, "seconds"))
        versus = best.versus.get(name)
        lines.append(f"  - Cheapest that reaches a ticket: **{best.line}**, at {_ratio(best, ref, 'steps')} of "
                     f"{name}'s training steps and {_ratio(best, ref, 'seconds')} of its total cost; against {name} "
                     f"on validation {_verdict_on_validation(versus)}.")
    return lines


def plot_time_to_ticket(study: Study, path: str | Path) -> Path:
    """One panel per target: each method's test score (95% interval) against its total cost relative to the first
    reference (log scale); hollow markers at its training-step cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.plots import write_figure
    import matplotlib.ticker

    table, metric = time_to_ticket(study)
    reference = study.report.references[0]
    fig, axes = plt.subplots(1, len(table), figsize=(6 * len(table), 4.6), squeeze=False)
    for ax, (label, methods) in zip(axes[0], table.items()):
        ref = next((m for m in methods if m.line == reference), None)
        for i, m in enumerate(methods):
            total = relative_cost(m, ref, "seconds") if ref is not None else None
            if m.test is None or total is None:
                continue
            y = 100 * m.test.estimate
            err = [[100 * (m.test.estimate - m.test.low)], [100 * (m.test.high - m.test.estimate)]]
            line = ax.errorbar([total], [y], yerr=err, fmt="o", capsize=3, color=f"C{i}",
                               label=f"{m.line}" + ("" if m.matching and m.matching["matches"] else " (no ticket)"))
            steps = relative_cost(m, ref, "steps")
            if steps is not None:
                ax.plot([steps], [y], marker="o", mfc="none", color=line[0].get_color())
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 5.0)))
        for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis(matplotlib.ticker.FormatStrFormatter("%.2g"))
        ax.set_xlabel(f"cost / {reference}'s (filled: everything; hollow: training steps)")
        ax.set_ylabel(f"test {'macro-F1' if metric == 'f1' else 'accuracy'} (%)")
        ax.set_title(f"{study.name}: at {label}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return write_figure(fig, path)
