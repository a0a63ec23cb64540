#!/usr/bin/env python
"""The time-to-ticket table: each method's ticket at IMP's sparsities against what it cost, over seeds.

    python experiments/summarize_time_to_ticket.py runs/imdb_sample_cnn_seed42 ..._seed43 ..._seed44 \
        [--metric accuracy|f1] --out results/imdb_sample_cnn_time_to_ticket

Reads the lines that `rewinding_branches.sh` and `time_to_ticket.sh` wrote. Cost is in units of one dense training
(total optimizer steps / round 0's steps) and in training seconds (evaluation left out): an IMP line pays round 0 (it
prunes round 0's trained weights) and every round up to the compared one; one-shot pays round 0 and one round; GMP
one round (round 0 only provided the initial weights it starts from); early-bird its dense search and one round.
The reference is the IMP line (init, step:20 or lr rewinding) with the best mean validation metric at that
sparsity; "Δ" is the method minus that reference, paired within each seed. Writes `<out>.md` and `<out>.png`.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from hf_lth.report import load_branches, load_results
from summarize_branches import mean_std  # experiments/, the script's folder

# The TextCNN study's defaults (time_to_ticket.sh): label -> (branch tag, IMP round, fast-IMP round; 0: none).
TARGETS = {"67.2%": ("67", 5, 2), "89.3%": ("89", 10, 4)}
IMP_LINES = {"IMP, rewind to init": "main", "IMP, rewind to step 20": "step20", "IMP, LR rewinding": "lr"}


def parse_targets(spec: str) -> dict[str, tuple[str, int, int]]:
    """"80%=80:4:0,..." -> {"80%": ("80", 4, 0)}."""
    targets = {}
    for item in spec.split(","):
        label, _, rest = item.partition("=")
        tag, imp_round, fast_round = rest.split(":")
        targets[label] = (tag, int(imp_round), int(fast_round))
    return targets


def method_rounds(tag: str, imp_round: int, fast_round: int, imp_lines: dict[str, str] = IMP_LINES,
                  ) -> dict[str, tuple[str, int, bool]]:
    """Method label -> (line, round, whether the line pays for round 0)."""
    rounds = {label: (line, imp_round, True) for label, line in imp_lines.items()}
    if fast_round:
        rounds["IMP, 42.8% per round"] = ("imp_fast", fast_round, True)
    rounds.update({
        "one-shot": (f"oneshot{tag}", 1, True),
        "GMP": (f"gmp{tag}", 1, False),
        "early-bird": (f"eb{tag}", 1, False),
    })
    return rounds


def entry(lines: dict[str, dict], line: str, index: int, trunk: bool) -> dict | None:
    results = lines.get(line)
    if results is None:
        return None
    by_round = {r["round"]: r for r in results["rounds"]}
    if index not in by_round:
        return None
    round0 = lines["main"]["rounds"][0]
    paid = [r for i, r in by_round.items() if 1 <= i <= index]
    steps = sum(r["train_steps"] + (r.get("search_steps") or 0) for r in paid) + (round0["train_steps"] if trunk else 0)
    seconds = sum(r["train_time_s"] + (r.get("search_time_s") or 0) for r in paid) + (
        round0["train_time_s"] if trunk else 0)
    return {**by_round[index], "cost": steps / round0["train_steps"], "seconds": seconds}


def control_gaps(seeds: list[dict], methods: dict, key: str) -> dict[tuple[str, str], list[float]]:
    """(method, control kind) -> the method's ticket minus its control, per seed, where the line ran controls."""
    gaps: dict[tuple[str, str], list[float]] = {}
    for name, (line, index, _) in methods.items():
        for seed in seeds:
            results = seed.get(line) or {}
            ticket = next((r for r in results.get("rounds", []) if r["round"] == index), None)
            for kind, records in results.get("controls", {}).items():
                control = next((r for r in records if r["round"] == index), None)
                if ticket and control and not ticket["collapsed"] and not control["collapsed"]:
                    gaps.setdefault((name, kind), []).append(ticket[key] - control[key])
    return gaps


def summarize(folders: list[Path], metric: str, targets: dict[str, tuple[str, int, int]] = TARGETS,
              imp_lines: dict[str, str] = IMP_LINES) -> tuple[list[str], dict[str, dict]]:
    """The table's Markdown lines and, per sparsity, each method's (cost, tests, deltas, relative cost)."""
    seeds = [{"main": load_results(f), **load_branches(f)} for f in folders]
    val, test = f"eval_{metric}", f"test_{metric}"
    lines = [f"{len(seeds)} seed(s): {', '.join(str(f) for f in folders)}. Test {metric} %, mean ± std over "
             "seeds; cost in dense trainings (optimizer steps / round 0's) and training seconds, means. Sparsity: of all "
             "prunable weights / without the embedding. Δ: minus the reference IMP line, paired within each seed.", ""]
    plot_data = {}
    for label, (tag, imp_round, fast_round) in targets.items():
        methods = method_rounds(tag, imp_round, fast_round, imp_lines)
        table = {name: [entry(seed, *spec) for seed in seeds] for name, spec in methods.items()}
        imp_val = {name: statistics.fmean(e[val] for e in table[name] if e) for name in imp_lines
                   if any(table[name])}
        reference = max(imp_val, key=imp_val.get)
        ref = table[reference]
        lines += [f"### At {label} of the prunable weights (reference: {reference}, best on validation)", "",
                  "| method | sparsity % (all / w/o emb.) | test | Δ (points) | cost (dense trainings) | training s | "
                  "cost / reference's | stopped at (early-bird) | collapsed |", "|" + "---|" * 9]
        rows = {}
        for name, entries in table.items():
            found = [e for e in entries if e is not None]
            if not found:
                lines.append(f"| {name} | not run |" + " |" * 7)
                continue
            ok = [e for e in found if not e["collapsed"]]
            deltas = [e[test] - r[test] for e, r in zip(entries, ref) if e and r and not e["collapsed"]
                      and not r["collapsed"]]
            cost = statistics.fmean(e["cost"] for e in found)
            ref_cost = statistics.fmean(e["cost"] for e in ref if e)
            stops = [e.get("early_bird_step") for e in found] if name == "early-bird" else []
            stopped = ", ".join("never" if s is None else str(s) for s in stops) if stops else ""
            without = statistics.fmean(e["sparsity_without_embedding"] for e in found)
            lines.append(
                f"| {name} | {100 * found[0]['sparsity']:.1f} / {100 * without:.1f} | "
                f"{mean_std([e[test] for e in ok], len(found))} | {mean_std(deltas) if name != reference else '–'} | "
                f"{cost:.2f} | {statistics.fmean(e['seconds'] for e in found):.0f} | {cost / ref_cost:.2f} | "
                f"{stopped} | {len(found) - len(ok)} |")
            rows[name] = (cost, [e[test] for e in ok], deltas, cost / ref_cost)
        gaps = control_gaps(seeds, methods, test)
        if gaps:
            lines += ["", "Controls (the method's mask replaced by a random one of the same per-tensor sparsity, or "
                          "its weights re-initialised), method minus control, paired within each seed:", ""]
            lines += [f"- {name} − {kind.replace('_', ' ')}: {mean_std(values)} points" for (name, kind), values in
                      gaps.items()]
        close = [(c, n) for n, (c, _, d, _) in rows.items() if n != reference and d and statistics.fmean(d) >= -0.005]
        if close:
            cost, name = min(close)
            lines += ["", f"- Cheapest within 0.5 points of the reference: **{name}**, "
                          f"Δ {mean_std(rows[name][2])} points at {rows[name][3]:.2f} of its cost."]
        else:
            lines += ["", "- No cheaper method comes within 0.5 points of the reference at this sparsity."]
        lines.append("")
        plot_data[label] = rows
    return lines, plot_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "f1"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--targets", type=parse_targets, default=TARGETS,
                        help="LABEL=TAG:IMP_ROUND:FAST_ROUND,... (fast round 0: no fast IMP line); default: the CNN study's")
    parser.add_argument("--imp-lines", default=",".join(IMP_LINES.values()),
                        help="the IMP lines to compare with (main, step20, lr)")
    args = parser.parse_args()
    names = {line: label for label, line in IMP_LINES.items()}
    imp_lines = {names.get(line, f"IMP, {line}"): line for line in args.imp_lines.split(",")}
    lines, plot_data = summarize(args.folders, args.metric, args.targets, imp_lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fig = plot(plot_data, args.metric, args.out.name)
    fig.savefig(args.out.with_suffix(".png"), dpi=120)
    print("\n".join(lines))


def plot(data: dict[str, dict], metric: str, title: str, axes=None):
    """One panel per sparsity: each method's test metric (mean ± std) against its cost; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(data), figsize=(6 * len(data), 4.5), squeeze=False)
        axes = axes[0]
    for ax, (label, rows) in zip(axes, data.items()):
        for name, (cost, tests, _, _) in rows.items():
            if not tests:
                continue
            std = 100 * statistics.stdev(tests) if len(tests) > 1 else 0.0
            ax.errorbar([cost], [100 * statistics.fmean(tests)], yerr=[std], fmt="o", capsize=3, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("cost (dense trainings, log scale)")
        ax.set_ylabel(f"test {metric} %")
        ax.set_title(f"{title}: at {label} sparsity")
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
