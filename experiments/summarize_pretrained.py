#!/usr/bin/env python
"""Tickets in a pretrained transformer, reported as Chen et al. (2020) report them, over seeds.

    python experiments/summarize_pretrained.py runs/imdb_sample_minilm_seed42 runs/..._seed43 ... \
        [--metric accuracy|f1] [--out results/imdb_sample_minilm]

Reads each seed's experiment folder (main line: IMP rewinding to the pretrained weights, with its controls; branch
`standard`: Chen et al.'s standard pruning, no rewinding) and writes `<out>_summary.md`, `<out>_tickets.png`
(metric against sparsity) and `<out>_layers.png` (the per-layer sparsity of the sparsest IMP ticket):

- every round of both lines, mean ± std over seeds (a collapsed run is left out and counted);
- the matching ticket: the sparsest IMP round whose mean *validation* metric is within one standard deviation
  (over seeds) of the dense round's, as Chen et al. define matching, and its test metric;
- IMP minus each control and minus standard pruning, paired within each seed;
- how the ticket's pruning is spread: attention (query, key, value, output) against FFN (in, out), layer by layer.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from hf_lth.experiment import ExperimentFolder
from hf_lth.masks import MASK_FILE, TicketMask
from hf_lth.report import CONTROL_LABELS, load_branches, load_results
from summarize_branches import mean_std  # experiments/, the script's folder

MATRICES = {  # BERT parameter name part -> short name, in the order of the layer's computation
    "attention.self.query": "Q", "attention.self.key": "K", "attention.self.value": "V",
    "attention.output.dense": "O", "intermediate.dense": "FFN in", "output.dense": "FFN out",
}
ATTENTION = ("Q", "K", "V", "O")
_LAYER = re.compile(r"layer\.(\d+)\.(.+)\.weight$")


def by_round(results: dict) -> dict[int, dict]:
    return {r["round"]: r for r in results.get("rounds", [])}


def values(records: list[dict | None], key: str) -> list[float]:
    return [r[key] for r in records if r is not None and not r.get("collapsed") and r.get(key) is not None]


def layer_key(name: str) -> tuple[int, str] | None:
    """(layer index, matrix short name) of an encoder linear weight's name, else None."""
    match = _LAYER.search(name)
    return (int(match.group(1)), MATRICES[match.group(2)]) if match and match.group(2) in MATRICES else None


def weighted(groups: dict[tuple[int, str], float], sizes: dict[tuple[int, str], int], keep) -> float:
    """Sparsity of the matrices `keep(layer, matrix)` selects, weighted by their numbers of weights."""
    chosen = [(s, sizes[key]) for key, s in groups.items() if keep(*key)]
    return sum(s * n for s, n in chosen) / sum(n for _, n in chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "f1"])
    parser.add_argument("--out", type=Path, required=True, help="prefix of the files written")
    args = parser.parse_args()
    mains = [load_results(f) for f in args.folders]
    standards = [load_branches(f).get("standard", {}) for f in args.folders]
    runs = len(mains)
    rounds = sorted({r for results in mains for r in by_round(results)})
    val, test = f"eval_{args.metric}", f"test_{args.metric}"
    lines = [f"{runs} seed(s): {', '.join(str(f) for f in args.folders)}. {args.metric} %, mean ± std over seeds; "
             "sparsity of the encoder's linear weights (Q, K, V, O, FFN in/out of every layer; embeddings, pooler "
             "and classifier dense). A collapsed run is left out of its mean and counted.", ""]

    # every round of both lines
    header = ["round", "sparsity %", "IMP val", "IMP test", "standard pruning val", "standard pruning test",
              "collapsed (IMP / standard)"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index in rounds:
        imp = [by_round(m).get(index) for m in mains]
        std = [by_round(s).get(index) if index else by_round(m).get(0) for s, m in zip(standards, mains)]
        sparsity = next(r["sparsity"] for r in imp if r is not None)
        collapsed = f"{sum(bool(r and r['collapsed']) for r in imp)} / {sum(bool(r and r['collapsed']) for r in std)}"
        lines.append(f"| {index} | {100 * sparsity:.1f} | {mean_std(values(imp, val), runs)} | "
                     f"{mean_std(values(imp, test), runs)} | {mean_std(values(std, val), runs)} | "
                     f"{mean_std(values(std, test), runs)} | {collapsed} |")

    # matching ticket (Chen et al.: within one standard deviation of dense), chosen on validation
    dense_val = values([by_round(m).get(0) for m in mains], val)
    lines.append("")
    if len(dense_val) >= 2:
        threshold = statistics.fmean(dense_val) - statistics.stdev(dense_val)
        matching = [i for i in rounds if i and values([by_round(m).get(i) for m in mains], val)
                    and statistics.fmean(values([by_round(m).get(i) for m in mains], val)) >= threshold]
        strict = [i for i in rounds if i and values([by_round(m).get(i) for m in mains], val)
                  and statistics.fmean(values([by_round(m).get(i) for m in mains], val)) >= statistics.fmean(dense_val)]
        for label, found in (("within one std of dense (Chen et al.'s Table 2)", matching),
                             ("at or above dense (their stricter Table 4)", strict)):
            if found:
                best = max(found)
                imp = [by_round(m).get(best) for m in mains]
                sparsity = next(r["sparsity"] for r in imp if r is not None)
                lines.append(f"- Sparsest IMP ticket {label}, on validation: round {best}, {100 * sparsity:.0f}% "
                             f"sparse; test {mean_std(values(imp, test), runs)} against dense "
                             f"{mean_std(values([by_round(m).get(0) for m in mains], test), runs)}.")
            else:
                lines.append(f"- No IMP round is {label} on validation.")
    else:
        lines.append("- Matching needs the dense round's standard deviation: run two seeds or more.")

    # paired gaps at the rounds that have controls
    kinds = sorted({k for m in mains for k in m.get("controls", {})})
    compared = sorted({r["round"] for m in mains for recs in m.get("controls", {}).values() for r in recs})
    header = ["round", "sparsity %"] + [f"IMP − {CONTROL_LABELS.get(k, k)}" for k in kinds] + [
        "IMP − standard pruning"] + [f"{CONTROL_LABELS.get(k, k)} test" for k in kinds]
    lines += ["", f"IMP minus each baseline, test {args.metric} points, paired within each seed:", "",
              "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index in compared:
        row, tests = [], []
        imp = [by_round(m).get(index) for m in mains]
        for kind in kinds:
            ctl = [next((r for r in m.get("controls", {}).get(kind, []) if r["round"] == index), None) for m in mains]
            row.append(mean_std([a[test] - b[test] for a, b in zip(imp, ctl)
                                 if a and b and not a["collapsed"] and not b["collapsed"]], runs))
            tests.append(mean_std(values(ctl, test), runs))
        std = [by_round(s).get(index) for s in standards]
        row.append(mean_std([a[test] - b[test] for a, b in zip(imp, std)
                             if a and b and not a["collapsed"] and not b["collapsed"]], runs))
        sparsity = next(r["sparsity"] for r in imp if r is not None)
        lines.append(f"| {index} | {100 * sparsity:.0f} | " + " | ".join(row + tests) + " |")

    # where the sparsest ticket is pruned
    last = max(rounds)
    tickets = [by_round(m).get(last) for m in mains if by_round(m).get(last)]
    mask = TicketMask.load(ExperimentFolder(args.folders[0]).round_dir(last) / MASK_FILE)
    sizes = {layer_key(name): mask[name].numel() for name in mask if layer_key(name)}
    per_seed = [{layer_key(n): s for n, s in t["layer_sparsity"].items() if layer_key(n)} for t in tickets]
    mean_groups = {key: statistics.fmean(g[key] for g in per_seed) for key in per_seed[0]}
    layers = sorted({layer for layer, _ in mean_groups})
    lines += ["", f"Per-layer sparsity % of the round-{last} IMP ticket ({100 * tickets[0]['sparsity']:.0f}% overall), "
              "mean over seeds:", "", "| layer | " + " | ".join(MATRICES.values()) + " | attention | FFN |",
              "|" + "---|" * (len(MATRICES) + 3)]
    for layer in layers:
        cells = [f"{100 * mean_groups[(layer, m)]:.1f}" for m in MATRICES.values()]
        att = weighted(mean_groups, sizes, lambda l, m, layer=layer: l == layer and m in ATTENTION)
        ffn = weighted(mean_groups, sizes, lambda l, m, layer=layer: l == layer and m not in ATTENTION)
        lines.append(f"| {layer} | " + " | ".join(cells) + f" | {100 * att:.1f} | {100 * ffn:.1f} |")
    half = len(layers) // 2
    summary = {
        "attention": weighted(mean_groups, sizes, lambda l, m: m in ATTENTION),
        "FFN": weighted(mean_groups, sizes, lambda l, m: m not in ATTENTION),
        f"layers 0–{half - 1}": weighted(mean_groups, sizes, lambda l, m: l < half),
        f"layers {half}–{layers[-1]}": weighted(mean_groups, sizes, lambda l, m: l >= half),
    }
    lines += ["", "- " + "; ".join(f"{k}: {100 * v:.1f}%" for k, v in summary.items()) + "."]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary_path = args.out.with_name(args.out.name + "_summary.md")
    summary_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _plot_tickets(mains, standards, kinds, test, args.out.with_name(args.out.name + "_tickets.png"), args.metric)
    _plot_layers(mean_groups, layers, last, tickets[0]["sparsity"], args.out.with_name(args.out.name + "_layers.png"))
    print("\n".join(lines))


def _plot_tickets(mains, standards, kinds, key, path: Path, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = {"IMP (rewind to pretrained)": mains, "standard pruning (no rewind)": standards}
    for label, lines_ in series.items():
        points = defaultdict(list)
        for results in lines_:
            for r in results.get("rounds", []):
                if not r.get("collapsed"):
                    points[r["sparsity"]].append(r[key])
        if label.startswith("standard"):  # the standard line starts from the same dense round
            for results in mains:
                r0 = by_round(results).get(0)
                if r0 and not r0.get("collapsed"):
                    points[0.0].append(r0[key])
        _errorbar(ax, points, label, "o-")
    for kind in kinds:
        points = defaultdict(list)
        for results in mains:
            for r in results.get("controls", {}).get(kind, []):
                if not r.get("collapsed"):
                    points[r["sparsity"]].append(r[key])
        _errorbar(ax, points, CONTROL_LABELS.get(kind, kind), "s--")
    ax.set_xlabel("sparsity of the encoder's linear weights (%)")
    ax.set_ylabel(f"test {metric} (%)")
    ax.set_title(f"{path.stem.replace('_tickets', '')}: mean ± std over {len(mains)} seed(s)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _errorbar(ax, points: dict[float, list[float]], label: str, style: str) -> None:
    xs = sorted(points)
    means = [100 * statistics.fmean(points[x]) for x in xs]
    stds = [100 * statistics.stdev(points[x]) if len(points[x]) > 1 else 0.0 for x in xs]
    ax.errorbar([100 * x for x in xs], means, yerr=stds, fmt=style, capsize=3, label=label)


def _plot_layers(groups: dict[tuple[int, str], float], layers: list[int], index: int, sparsity: float,
                 path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(MATRICES.values())
    grid = np.array([[100 * groups[(layer, m)] for m in names] for layer in layers])
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(layers) + 1.8))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for (row, col), value in np.ndenumerate(grid):
        ax.text(col, row, f"{value:.0f}", ha="center", va="center", color="white" if value < 60 else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(layers)), [f"layer {layer}" for layer in layers])
    ax.set_title(f"sparsity % per matrix, round {index} IMP ticket ({100 * sparsity:.0f}% overall)")
    fig.colorbar(image, ax=ax, label="sparsity %")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
