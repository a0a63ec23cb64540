#!/usr/bin/env python
"""Channel against unstructured tickets at matched weight counts, with their measured CPU throughput.

    python experiments/summarize_structured.py runs/imdb_sample_cnn_structured_seed4{2,3,4} \
        [--metric accuracy|f1] --out results/imdb_sample_cnn_structured

Reads the lines of `structured_tickets.sh` (main line: unstructured; branches `channel` and `nm24`). Accuracy is
mean ± std over the seeds, Δ paired within each seed. Throughput: the first folder's tickets, examples/s at batch
64 (`hf_lth.structure.examples_per_second`, medians of three turns): each channel ticket shrunk
(`hf_lth.structure.shrink_model`), each unstructured ticket as stored (dense tensors holding zeros). Run it on an
otherwise idle machine. Writes `<out>.md` and `<out>.png` (accuracy against throughput).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification

import hf_lth.models  # noqa: F401  (registers TextCNN / TextRNN with the Auto classes)
from hf_lth.experiment import ExperimentFolder
from hf_lth.masks import MASK_FILE, TicketMask
from hf_lth.report import load_branches, load_results
from hf_lth.structure import examples_per_second, shrink_model
from summarize_branches import mean_std  # experiments/, the script's folder

LINES = {"unstructured": None, "channel": "channel"}


def measure_speed(folder: Path, rounds: list[int], tokens: int) -> dict[tuple[str, int], float]:
    """(line, round) -> examples/s at batch 64; round 0 is the dense model."""
    models = {}
    for line, branch in LINES.items():
        experiment = ExperimentFolder(folder, branch)
        for index in rounds:
            model = AutoModelForSequenceClassification.from_pretrained(experiment.round_dir(index)).eval()
            if index and line == "channel":
                model = shrink_model(model, TicketMask.load(experiment.round_dir(index) / MASK_FILE)).model
            models[(line, index)] = model
    any_model = next(iter(models.values()))
    batch = torch.randint(1, any_model.config.vocab_size, (64, tokens), generator=torch.Generator().manual_seed(0))
    speeds = {key: [] for key in models}
    for model in models.values():
        examples_per_second(model, batch, 0.0)  # warm-up
    for _ in range(3):
        for key, model in models.items():
            speeds[key].append(examples_per_second(model, batch, 1.0))
    return {key: statistics.median(values) for key, values in speeds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "f1"])
    parser.add_argument("--tokens", type=int, default=128, help="sequence length of the timed batch")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    test = f"test_{args.metric}"
    seeds = [{"unstructured": load_results(f), **load_branches(f)} for f in args.folders]
    rounds = sorted({r["round"] for r in seeds[0]["unstructured"]["rounds"]})
    speed = measure_speed(args.folders[0], rounds, args.tokens)
    dense_speed = speed[("unstructured", 0)]
    lines = [f"{len(seeds)} seed(s): {', '.join(str(f) for f in args.folders)}. Test {args.metric} %, mean ± std over "
             "seeds. Sparsity: of the pruned tensors (convolutions and classifier; the embedding stays dense). "
             f"Speed-up: examples/s at batch 64 × {args.tokens} tokens against the dense model's, CPU, "
             f"{torch.get_num_threads()} threads (first seed's tickets; a channel ticket shrunk, an unstructured one as "
             "stored). Δ: channel minus unstructured, paired within each seed.", "",
             "| round | sparsity % (unstructured / channel) | filters kept per width | unstructured | channel | Δ | "
             "speed-up unstructured | speed-up channel | collapsed (u / c) |", "|" + "---|" * 9]
    points = {line: [] for line in LINES}
    for index in rounds:
        entries = {line: [next((r for r in s[line]["rounds"] if r["round"] == index), None) for s in seeds]
                   for line in LINES}
        if any(e is None for line in LINES for e in entries[line]):
            continue
        ok = {line: [e[test] for e in entries[line] if not e["collapsed"]] for line in LINES}
        deltas = [c[test] - u[test] for u, c in zip(entries["unstructured"], entries["channel"])
                  if not u["collapsed"] and not c["collapsed"]]
        units = entries["channel"][0].get("units_kept") or {}
        ups = {line: speed[(line, index)] / dense_speed for line in LINES}
        lines.append(
            f"| {index} | {100 * entries['unstructured'][0]['sparsity']:.1f} / {100 * entries['channel'][0]['sparsity']:.1f}"
            f" | {', '.join(str(v) for v in dict.fromkeys(units.values())) or 'all'} | "
            f"{mean_std(ok['unstructured'], len(seeds))} | {mean_std(ok['channel'], len(seeds))} | "
            f"{mean_std(deltas) if index else '–'} | {ups['unstructured']:.2f}× | {ups['channel']:.2f}× | "
            f"{sum(e['collapsed'] for e in entries['unstructured'])} / {sum(e['collapsed'] for e in entries['channel'])} |")
        for line in LINES:
            if ok[line]:
                points[line].append((speed[(line, index)], ok[line], index))
    lines += ["", "Controls at round 3 (the line minus its control, paired within each seed):", ""]
    for line in LINES:
        for kind in ("random_pruning", "random_reinit"):
            gaps = []
            for s in seeds:
                ticket = next((r for r in s[line]["rounds"] if r["round"] == 3), None)
                control = next((r for r in s[line]["controls"].get(kind, []) if r["round"] == 3), None)
                if ticket and control and not ticket["collapsed"] and not control["collapsed"]:
                    gaps.append(ticket[test] - control[test])
            collapsed = sum(1 for s in seeds for r in s[line]["controls"].get(kind, []) if r["round"] == 3 and r["collapsed"])
            lines.append(f"- {line} − {kind.replace('_', ' ')}: {mean_std(gaps)} points"
                         + (f" ({collapsed} control run(s) collapsed, left out)" if collapsed else ""))
    nm = [next((r for r in s["nm24"]["rounds"] if r["round"] == 2), None) for s in seeds if "nm24" in s]
    nm = [r for r in nm if r is not None]
    if nm:
        same = [next(r for r in s["unstructured"]["rounds"] if r["round"] == 3) for s in seeds if "nm24" in s]
        lines += ["", f"2:4 (round 2, {100 * nm[0]['sparsity']:.1f}% sparse): "
                      f"{mean_std([r[test] for r in nm if not r['collapsed']], len(nm))}; unstructured at round 3 "
                      f"({100 * same[0]['sparsity']:.1f}%): {mean_std([r[test] for r in same if not r['collapsed']])}. "
                      "On a CPU a 2:4 ticket runs at dense speed; see benchmarks/bench_semi_structured_gpu.py."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(points, args.out.with_suffix(".png"), args.metric, args.out.name, dense_speed)
    print("\n".join(lines))


def plot(points: dict[str, list], path: Path, metric: str, title: str, dense_speed: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for line, marker in zip(points, ("o", "s")):
        xs = [speed / dense_speed for speed, _, _ in points[line]]
        ys = [100 * statistics.fmean(values) for _, values, _ in points[line]]
        errs = [100 * statistics.stdev(values) if len(values) > 1 else 0.0 for _, values, _ in points[line]]
        ax.errorbar(xs, ys, yerr=errs, fmt=marker, capsize=3, label=f"{line} tickets")
        for x, y, (_, _, index) in zip(xs, ys, points[line]):
            ax.annotate(str(index), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("CPU throughput at batch 64 / dense model's (measured)")
    ax.set_ylabel(f"test {metric} %")
    ax.set_title(f"{title}: accuracy against speed (labels: round)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
