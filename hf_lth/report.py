"""Reports of a finished experiment: the round table in Markdown and the accuracy-versus-sparsity plot.

Run on a folder: `python -m hf_lth.report OUTPUT_DIR` (or `hf-lth-report OUTPUT_DIR`).
"""

from __future__ import annotations

import argparse
import json
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


def plot_accuracy_vs_sparsity(results: dict[str, Any], path: str | Path, split: str = "test", title: str | None = None) -> Path:
    """Plot `split` accuracy against sparsity for the tickets and each control; write a PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = {"IMP ticket": results.get("rounds", [])}
    series.update({CONTROL_LABELS.get(k, k): v for k, v in results.get("controls", {}).items()})
    for label, records in series.items():
        points = sorted((r["sparsity"], r.get(f"{split}_accuracy")) for r in records if r.get(f"{split}_accuracy") is not None)
        if points:
            ax.plot([100 * s for s, _ in points], [100 * a for _, a in points], marker="o", label=label)
    dense = next((r for r in results.get("rounds", []) if r["round"] == 0), None)
    if dense and dense.get(f"{split}_accuracy") is not None:
        ax.axhline(100 * dense[f"{split}_accuracy"], color="grey", linestyle="--", linewidth=1, label="dense")
    ax.set_xlabel("sparsity of prunable weights (%)")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_title(title or "Accuracy versus sparsity")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


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
    plot = plot_accuracy_vs_sparsity(results, args.plot or Path(args.output_dir) / "accuracy_vs_sparsity.png", args.split)
    print(f"\nplot written to {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
