#!/usr/bin/env python
"""bf16 against fp32: the same rounds of two studies that differ only in precision, paired by seed.

For each round of a line present in both studies (dense and the pruned rounds), per seed: the bf16 − fp32
difference of validation and test accuracy (paired bootstrap over the test examples, exact McNemar p), then over
seeds the mean difference with its interval over seeds and test examples (`hf_lth.stats.intervals.seed_interval`).
"Within seed noise" is judged beside the fp32 runs' own spread over seeds (their standard deviation).

    python experiments/compare_precision.py experiments/studies/imdb_sample_cnn.yaml \
        experiments/studies/imdb_sample_cnn_bf16.yaml --line step20 [--out results/bf16_parity_sample.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hf_lth.report.results import load_results
from hf_lth.stats.intervals import seed_interval
from hf_lth.stats.lookup import round_predictions
from hf_lth.study import load_study
from hf_lth.study.report import line_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fp32", help="the fp32 study file")
    parser.add_argument("bf16", help="the bf16 study file")
    parser.add_argument("--line", default="main", help="the pruned line to compare (dense is always compared)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    studies = {"fp32": load_study(args.fp32), "bf16": load_study(args.bf16)}
    seeds = sorted(set(studies["fp32"].seeds) & set(studies["bf16"].seeds))
    loaded = {}
    for name, study in studies.items():
        for line_name in ("main", args.line):
            line = study.line(line_name)
            for seed in seeds:
                folder = line_folder(study, seed, line)
                if folder is not None:
                    loaded[name, line_name, seed] = (folder, load_results(folder))
    rows = ["| line | round | sparsity % | seeds | fp32 test acc % (std over seeds) | bf16 − fp32, test [95% CI] | "
            "bf16 − fp32, validation [95% CI] |", "|---|---|---|---|---|---|---|"]
    for line_name in dict.fromkeys(("main", args.line)):
        rounds = sorted({r["round"] for (n, l, s), (_, res) in loaded.items() if l == line_name for r in res["rounds"]
                         if r["round"] > 0 or line_name == "main"})
        for index in rounds:
            pairs, fp32_acc, sparsity = {"eval": [], "test": []}, [], None
            for seed in seeds:
                if ("fp32", line_name, seed) not in loaded or ("bf16", line_name, seed) not in loaded:
                    continue
                preds = {}
                for name in ("fp32", "bf16"):
                    folder, results = loaded[name, line_name, seed]
                    preds[name] = round_predictions(folder, results.get("branch"), index)
                    sparsity = next((r["sparsity"] for r in results["rounds"] if r["round"] == index), sparsity)
                if preds["fp32"] is None or preds["bf16"] is None:
                    continue
                for split in ("eval", "test"):
                    a, b = preds["bf16"][split], preds["fp32"][split]
                    pairs[split].append((a.predicted == a.labels).astype(float) - (b.predicted == b.labels).astype(float))
                fp32_acc.append(float((preds["fp32"]["test"].predicted == preds["fp32"]["test"].labels).mean()))
            if not fp32_acc:
                continue
            test, _ = seed_interval(np.stack(pairs["test"]))
            val, _ = seed_interval(np.stack(pairs["eval"]))
            spread = f" ({100 * np.std(fp32_acc, ddof=1):.2f})" if len(fp32_acc) > 1 else ""
            rows.append(f"| {line_name} | {index} | {100 * sparsity:.1f} | {len(fp32_acc)} | "
                        f"{100 * np.mean(fp32_acc):.2f}{spread} | {test.format(signed=True)} | {val.format(signed=True)} |")
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(f"# bf16 against fp32\n\n`python experiments/compare_precision.py {args.fp32} {args.bf16} "
                            f"--line {args.line}`\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
