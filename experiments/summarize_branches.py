#!/usr/bin/env python
"""Paired comparison of the lines (main line and branches) of one experiment run with one or more seeds.

    python experiments/summarize_branches.py runs/imdb_sample_cnn_seed42 runs/imdb_sample_cnn_seed43 ... \
        [--metric accuracy|f1] [--split test|eval] [--rounds 5,10]

For each line (`main` and every branch) and each compared round: the sparsity (all prunable / without the
embedding, the latter a mean over seeds: global pruning splits its cut differently in each run), the ticket's metric, each control's, and IMP minus each control paired within a seed, as mean ±
standard deviation over the seeds. A round that collapsed to one class is left out of the means and counted in
the `collapsed` column. Then, per line: the dense round, and the best ticket chosen on validation.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from hf_lth.report import CONTROL_LABELS, load_branches, load_results


def mean_std(values: list[float], runs: int | None = None) -> str:
    """Mean ± std in percent; `(n=k)` when only k of the `runs` seeds have a value (the others collapsed)."""
    if not values:
        return "–"
    text = f"{100 * values[0]:.2f}" if len(values) == 1 else (
        f"{100 * statistics.fmean(values):.2f} ± {100 * statistics.stdev(values):.2f}")
    return text + (f" (n={len(values)})" if runs is not None and len(values) < runs else "")


def lines_of(folder: Path) -> dict[str, dict]:
    return {"main (init)": load_results(folder), **load_branches(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="the experiment folder of each seed")
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "f1"])
    parser.add_argument("--split", default="test", choices=["test", "eval"])
    parser.add_argument("--rounds", default="5,10", help="pruned rounds to compare (those with controls)")
    args = parser.parse_args()
    key = f"{args.split}_{args.metric}"
    rounds = [int(r) for r in args.rounds.split(",")]
    seeds = [lines_of(folder) for folder in args.folders]
    names = list(seeds[0])
    kinds = sorted({k for seed in seeds for line in seed.values() for k in line.get("controls", {})})

    print(f"{len(seeds)} seed(s): {', '.join(str(f) for f in args.folders)}; {args.split} {args.metric} %, "
          "mean ± std over seeds; IMP − control paired within each seed\n")
    header = ["line", "round", "sparsity % (all / w/o emb.)", "IMP"] + [CONTROL_LABELS.get(k, k) for k in kinds]
    header += [f"IMP − {CONTROL_LABELS.get(k, k)} (points)" for k in kinds] + ["collapsed runs"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name in names:
        for index in rounds:
            tickets, controls, gaps, collapsed, sparsity = [], {k: [] for k in kinds}, {k: [] for k in kinds}, [], []
            for seed in seeds:
                line = seed.get(name)
                ticket = next((r for r in (line or {}).get("rounds", []) if r["round"] == index), None)
                if ticket is None:
                    continue
                sparsity.append((ticket["sparsity"], ticket["sparsity_without_embedding"]))
                if ticket["collapsed"]:
                    collapsed.append("IMP")
                else:
                    tickets.append(ticket[key])
                for kind in kinds:
                    control = next((c for c in line.get("controls", {}).get(kind, []) if c["round"] == index), None)
                    if control is None:
                        continue
                    if control["collapsed"]:
                        collapsed.append(CONTROL_LABELS.get(kind, kind))
                        continue
                    controls[kind].append(control[key])
                    if not ticket["collapsed"]:
                        gaps[kind].append(ticket[key] - control[key])
            if not sparsity:
                continue
            overall, without = (statistics.fmean(values) for values in zip(*sparsity))  # the latter varies by seed
            runs = len(sparsity)
            cells = [name, str(index), f"{100 * overall:.1f} / {100 * without:.1f}", mean_std(tickets, runs)]
            cells += [mean_std(controls[k], runs) for k in kinds] + [mean_std(gaps[k], runs) for k in kinds]
            cells.append(", ".join(collapsed) or "none")
            print("| " + " | ".join(cells) + " |")

    print("\n| line | dense | best ticket: rounds chosen on validation | best ticket sparsity % (all / w/o emb.) "
          "| best ticket | train steps per pruned round |\n|---|---|---|---|---|---|")
    for name in names:
        dense, best, chosen, spars, steps = [], [], [], [], set()
        for seed in seeds:
            line = seed.get(name)
            if not line:
                continue
            by_round = {r["round"]: r for r in line["rounds"]}
            if 0 in by_round:
                dense.append(by_round[0][key])
            if line.get("best_round") is not None:
                record = by_round[line["best_round"]]
                chosen.append(str(line["best_round"]))
                best.append(record[key])
                spars.append(f"{100 * record['sparsity']:.1f} / {100 * record['sparsity_without_embedding']:.1f}")
            steps |= {r["train_steps"] for r in line["rounds"] if r["round"] > 0}
        print(f"| {name} | {mean_std(dense)} | {', '.join(chosen)} | {'; '.join(spars)} | {mean_std(best)} | "
              f"{', '.join(str(s) for s in sorted(steps))} |")


if __name__ == "__main__":
    main()
