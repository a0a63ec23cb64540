"""Figures of the mask analyses (matplotlib, written atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..storage.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)


def plot_sparsity_heatmap(rounds: list[dict[str, Any]], path: str | Path, title: str) -> Path:
    """Rounds (rows) × prunable tensors (columns), coloured by each tensor's sparsity."""
    plt = _pyplot()
    pruned = [r for r in rounds if r["round"] > 0]
    names = list(pruned[0]["layer_sparsity"])
    grid = [[100 * r["layer_sparsity"][n] for n in names] for r in pruned]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names) + 2), 0.35 * len(pruned) + 2.2))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(names)), [_short(n) for n in names], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(pruned)), [f"{r['round']} ({100 * r['sparsity']:.0f}%)" for r in pruned], fontsize=8)
    ax.set_ylabel("round (overall sparsity)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="sparsity of the tensor %")
    return _save(fig, path)


def plot_overlap(overlaps: dict[str, dict[str, Any]], path: str | Path, title: str) -> Path:
    """One pair of bars per comparison: the masks' IoU and what random masks of the same sparsities give."""
    plt = _pyplot()
    labels = list(overlaps)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(labels) + 2), 4.2))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [100 * overlaps[k]["iou"] for k in labels], 0.4,
           yerr=[100 * overlaps[k]["iou_std"] for k in labels], capsize=3, label="masks")
    ax.bar([x + 0.2 for x in xs], [100 * overlaps[k]["random_iou"] for k in labels], 0.4,
           label="random masks, same per-tensor sparsity")
    ax.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("IoU of kept weights %")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_vocabulary(survival: dict[str, Any], path: str | Path, title: str) -> Path:
    """Kept fraction of the embedding rows by frequency band (most frequent words on the left)."""
    plt = _pyplot()
    bands = survival["bands"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(len(bands)), [100 * b["kept"] for b in bands])
    ax.set_xticks(range(len(bands)), [f"{b['ids'][0]}–{b['ids'][1]}" for b in bands], rotation=30, ha="right",
                  fontsize=8)
    ax.set_xlabel("word ids (= frequency rank in the training texts)")
    ax.set_ylabel("embedding weights kept %")
    ax.set_title(title)
    return _save(fig, path)


def plot_instability(runs: dict[str, dict[str, Any]], path: str | Path, title: str) -> Path:
    """Left: validation error along each path between two copies; right: instability against the rewind step."""
    plt = _pyplot()
    fig, (paths, summary) = plt.subplots(1, 2, figsize=(11, 4.2))
    by_kind: dict[str, list[tuple[int, float]]] = {}
    for key, run in runs.items():
        paths.plot(run["alphas"], [100 * e for e in run["errors"]], marker=".", label=key)
        kind = "dense" if run["round"] == 0 else f"round {run['round']} tickets ({100 * run['sparsity']:.0f}%)"
        by_kind.setdefault(kind, []).append((run["step"], 100 * run["instability"]))
    paths.set_xlabel("interpolation α (0: copy 1, 1: copy 2)")
    paths.set_ylabel("validation error %")
    paths.legend(fontsize=7)
    for kind, points in sorted(by_kind.items()):
        points.sort()
        summary.plot([p[0] for p in points], [p[1] for p in points], "o-", label=kind)
    step_axis(summary, [run["step"] for run in runs.values()])
    summary.set_ylabel("instability (points of error)")
    summary.axhline(0, color="grey", lw=0.8)
    summary.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def step_axis(ax, steps: list[int]) -> None:
    """An x axis of rewind steps: a tick at each step measured, and a range of at least one step on either side
    of a single one (matplotlib would otherwise span ±0.04 around it).

    Args:
        ax: the matplotlib axes whose x axis shows the rewind steps.
        steps: the rewind steps measured (repeats allowed).
    """
    measured = sorted(set(steps))
    ax.set_xlabel("rewind step K")
    if not measured:
        return
    ax.set_xticks(measured)
    if len(measured) == 1:
        ax.set_xlim(measured[0] - 1, measured[0] + 1)


def _short(name: str) -> str:
    return name.removesuffix(".weight").replace("encoder.layer.", "L").replace("attention.", "att.")
