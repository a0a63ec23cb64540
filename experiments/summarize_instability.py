#!/usr/bin/env python
"""Instability (Frankle et al., 2020) over seeds, from the `instability.json` files of `hf-lth-analyze instability`.

    python experiments/summarize_instability.py results/imdb_sample_cnn_instability_seed42 ..._seed43

Prints, for each rewind step K, the dense network's and the ticket's instability (largest validation error on the
path between two copies minus the mean of the endpoints', in points) and the endpoints' error, mean ± std over
the seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    table: dict[tuple[str, int], dict[str, list[float]]] = {}
    for folder in args.folders:
        for run in json.loads((folder / "instability.json").read_text(encoding="utf-8"))["runs"].values():
            kind = "dense" if run["round"] == 0 else f"ticket, {run['line']} line round {run['round']}"
            cell = table.setdefault((kind, run["step"]), {"instability": [], "ends": [], "sparsity": []})
            cell["instability"].append(100 * run["instability"])
            cell["ends"].append(100 * (run["errors"][0] + run["errors"][-1]) / 2)
            cell["sparsity"].append(100 * run["sparsity"])
    print(f"{len(args.folders)} seed(s); validation error in points, mean ± std over seeds\n")
    print("| network | rewind step K | sparsity % | instability | endpoints' error |\n|---|---|---|---|---|")
    for (kind, step), cell in sorted(table.items(), key=lambda item: (item[0][0] != "dense", item[0][1])):
        print(f"| {kind} | {step} | {statistics.fmean(cell['sparsity']):.1f} | {mean_std(cell['instability'])} | "
              f"{mean_std(cell['ends'])} |")


if __name__ == "__main__":
    main()
