"""The report's figures: accuracy (or macro-F1) against sparsity, for one experiment, its seeds, or several side by
side, with the sparsity without the embedding on a top axis where it differs."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .text import CONTROL_LABELS


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
    fig, ax = new_figure()
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
    return save_figure(fig, ax, split, title, path, metric)


def plot_comparison(runs: dict[str, dict[str, Any]], path: str | Path, split: str = "test", title: str | None = None) -> Path:
    """Plot `split` accuracy against sparsity, one curve per experiment in `runs` (label -> results)."""
    fig, ax = new_figure()
    for label, results in runs.items():
        sparsity, accuracy, _ = _mean_curve([results.get("rounds", [])], f"{split}_accuracy")
        if sparsity:
            ax.plot(sparsity, accuracy, marker="o", label=label)
    return save_figure(fig, ax, split, title or "Accuracy versus sparsity", path)


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


def new_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.6))


def save_figure(fig, ax, split: str, title: str, path: str | Path, metric: str = "accuracy") -> Path:
    """Label the axes, write the PNG to `path` (folders made as needed) and free the figure."""
    ax.set_xlabel("sparsity of all prunable weights (%)")
    name = "macro-F1" if metric == "f1" else "accuracy"
    ax.set_ylabel(f"{'validation' if split == 'eval' else split} {name} (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return write_figure(fig, path)


def write_figure(fig, path: str | Path) -> Path:
    """Lay `fig` out, write it to `path` as a 120-dpi image (creating its folder) and close it."""
    import matplotlib.pyplot as plt

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
