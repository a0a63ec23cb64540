"""Reports of a finished experiment: the round table in Markdown and the accuracy-versus-sparsity plot.

Run on a folder: `hf-lth-report OUTPUT_DIR` (installed with the package).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

CONTROL_LABELS = {"random_pruning": "random pruning", "random_reinit": "random re-init"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def round_table(results: dict[str, Any]) -> str:
    """A Markdown table: one row per round, the controls' test accuracy beside it, the best ticket marked."""
    controls = results.get("controls", {})
    by_round = {kind: {r["round"]: r for r in records} for kind, records in controls.items()}
    best = results.get("best_round")
    header = ["round", "sparsity %", "val acc %", "val F1 %", "test acc %", "test F1 %", "steps", "time s"]
    header += [f"{CONTROL_LABELS.get(kind, kind)} test acc %" for kind in by_round]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for record in results.get("rounds", []):
        index = record["round"]
        cells = [
            f"{index}{' (best)' if index == best else ''}",
            f"{100 * record['sparsity']:.1f}",
            _pct(record.get("eval_accuracy")),
            _pct(record.get("eval_f1")),
            _pct(record.get("test_accuracy")),
            _pct(record.get("test_f1")),
            str(record.get("train_steps", "–")),
            f"{record.get('wall_time_s', 0):.0f}",
        ]
        cells += [_pct(by_round[kind].get(index, {}).get("test_accuracy")) for kind in by_round]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(results: dict[str, Any], split: str = "test", tolerance: float = 0.005, near: float = 0.9) -> dict[str, Any]:
    """The figures a reader wants first: dense accuracy, the best ticket (chosen on validation), the sparsest
    round within `tolerance` of dense, and IMP minus each control at the round nearest `near` sparsity."""
    rounds = results.get("rounds", [])
    key = f"{split}_accuracy"
    dense = next((r for r in rounds if r["round"] == 0), None)
    out: dict[str, Any] = {"split": split, "dense_accuracy": dense.get(key) if dense else None}
    best = next((r for r in rounds if r["round"] == results.get("best_round")), None)
    if best:
        out.update(best_round=best["round"], best_sparsity=best["sparsity"], best_accuracy=best.get(key))
    if dense and dense.get(key) is not None:
        close = [r for r in rounds if r.get(key) is not None and r[key] >= dense[key] - tolerance]
        out["sparsest_within_tolerance"] = max(close, key=lambda r: r["sparsity"])["sparsity"]
    pruned = [r for r in rounds if r["round"] > 0 and r.get(key) is not None]
    if pruned:
        target = min(pruned, key=lambda r: abs(r["sparsity"] - near))
        out["near_sparsity"] = target["sparsity"]
        for kind, records in results.get("controls", {}).items():
            match = next((c for c in records if c["round"] == target["round"] and c.get(key) is not None), None)
            if match:
                out[f"imp_minus_{kind}"] = target[key] - match[key]
    return out


def plot_accuracy_vs_sparsity(
    results: dict[str, Any] | list[dict[str, Any]], path: str | Path, split: str = "test", title: str | None = None
) -> Path:
    """Plot `split` accuracy against sparsity for the tickets and each control; write a PNG to `path`.

    Given several experiments (seeds), each curve is their mean per round with a band of one standard deviation.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results if isinstance(results, list) else [results]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = {"IMP ticket": [run.get("rounds", []) for run in runs]}
    for kind in sorted({k for run in runs for k in run.get("controls", {})}):
        series[CONTROL_LABELS.get(kind, kind)] = [run.get("controls", {}).get(kind, []) for run in runs]
    for label, per_run in series.items():
        sparsity, mean, std = _mean_curve(per_run, f"{split}_accuracy")
        if sparsity:
            line = ax.plot(sparsity, mean, marker="o", label=label)[0]
            if len(runs) > 1:
                ax.fill_between(sparsity, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                                color=line.get_color(), alpha=0.2)
    _, dense, _ = _mean_curve([[r for r in run.get("rounds", []) if r["round"] == 0] for run in runs], f"{split}_accuracy")
    if dense:
        ax.axhline(dense[0], color="grey", linestyle="--", linewidth=1, label="dense")
    ax.set_xlabel("sparsity of prunable weights (%)")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_title(title or "Accuracy versus sparsity" + (f" (mean ± std of {len(runs)} runs)" if len(runs) > 1 else ""))
    ax.grid(alpha=0.3)
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


def load_results(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "lth_results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {folder} the output_dir of a finished experiment?")
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Round table and accuracy-vs-sparsity plot of an LTH experiment.")
    parser.add_argument("output_dir", help="the experiment folder holding lth_results.json")
    parser.add_argument("--plot", help="PNG path (default OUTPUT_DIR/accuracy_vs_sparsity.png)")
    parser.add_argument("--split", default="test", choices=["eval", "test"])
    args = parser.parse_args(argv)
    try:
        results = load_results(args.output_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(round_table(results))
    figures = headline(results, split=args.split)
    print("\n" + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    plot = plot_accuracy_vs_sparsity(results, args.plot or Path(args.output_dir) / "accuracy_vs_sparsity.png", args.split)
    print(f"\nplot written to {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
