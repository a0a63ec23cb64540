"""The instability report: `hf-lth-analyze instability` over a study's seeds (Frankle et al. 2020).

A study file's `report: {kind: instability, analysis: results/NAME_instability_seed{seed}}` names the folder of
each seed's `instability.json`. For the dense network and for each ticket (line, round), at each rewind step K:
the instability (the largest validation error on the linear path between two copies trained with different data
orders, minus the mean of the endpoints' errors, in points) and the endpoints' error, as the mean over seeds with
its 95% t-interval over seeds (`hf_lth.stats.intervals.combine_seeds`; one seed: the value alone). Under 2
points counts as stable, as in Frankle et al. Seeds without the file are named.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..stats.intervals import combine_seeds
from .spec import Study

INSTABILITY_FILE = "instability.json"
STABLE_POINTS = 2.0


def instability_runs(study: Study) -> tuple[dict[tuple[str, int], dict[str, dict[int, float]]], list[int]]:
    """(network, K) -> {"instability", "ends", "sparsity"} -> seed -> value (in points / %), and the seeds
    without an `instability.json`."""
    table: dict[tuple[str, int], dict[str, dict[int, float]]] = {}
    missing = []
    for seed in study.seeds:
        path = Path(study.report.analysis.format(seed=seed)) / INSTABILITY_FILE
        if not path.is_file():
            missing.append(seed)
            continue
        for run in json.loads(path.read_text(encoding="utf-8"))["runs"].values():
            network = "dense" if run["round"] == 0 else f"ticket: {run['line']} line, round {run['round']}"
            cell = table.setdefault((network, run["step"]), {"instability": {}, "ends": {}, "sparsity": {}})
            cell["instability"][seed] = 100 * run["instability"]
            cell["ends"][seed] = 100 * (run["errors"][0] + run["errors"][-1]) / 2
            cell["sparsity"][seed] = 100 * run["sparsity"]
    if not table:
        raise FileNotFoundError(f"no seed of study {study.name} has {INSTABILITY_FILE} under {study.report.analysis}.")
    return dict(sorted(table.items(), key=lambda item: (item[0][0] != "dense", item[0][1], item[0][0]))), missing


def _over_seeds(values: dict[int, float]) -> str:
    points = list(values.values())
    if len(points) == 1:
        return f"{points[0]:.2f}"
    interval = combine_seeds(points, 0.0)[1]
    return f"{interval.estimate:.2f} [{interval.low:.2f}, {interval.high:.2f}]"


def instability_table(study: Study) -> str:
    """The report in Markdown."""
    table, missing = instability_runs(study)
    text = [f"# Study {study.name}: instability", "", " ".join(study.description.split()), "",
            f"Seeds {study.seeds}; analysis folders `{study.report.analysis}`."]
    if missing:
        text += ["", f"No `{INSTABILITY_FILE}` yet for seeds {missing}."]
    text += ["", "| network | rewind step K | sparsity % | seeds | instability (points) [95% CI] | stable (< 2 points) "
             "| endpoints' validation error % |", "|---|---|---|---|---|---|---|"]
    for (network, step), cell in table.items():
        mean = sum(cell["instability"].values()) / len(cell["instability"])
        sparsity = sum(cell["sparsity"].values()) / len(cell["sparsity"])
        text.append(f"| {network} | {step} | {sparsity:.1f} | {len(cell['instability'])} | "
                    f"{_over_seeds(cell['instability'])} | {'yes' if mean < STABLE_POINTS else 'no'} | "
                    f"{_over_seeds(cell['ends'])} |")
    text += ["", "Instability: the largest validation error on the linear path between two copies of the network "
             "trained on from step K with different data orders, minus the mean of the two endpoints' errors "
             "(Frankle et al. 2020). Mean over seeds with its 95% t-interval over seeds (the validation examples' "
             "sampling error is not included); *stable*: the mean is under 2 points."]
    return "\n".join(text) + "\n"


def plot_instability(study: Study, path: str | Path) -> Path:
    """Instability against the rewind step K, one line per network, each seed a point and the mean a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.plots import write_figure

    table, _ = instability_runs(study)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    networks = list(dict.fromkeys(network for network, _ in table))
    for i, network in enumerate(networks):
        steps = sorted(step for name, step in table if name == network)
        means = [sum(table[(network, s)]["instability"].values()) / len(table[(network, s)]["instability"])
                 for s in steps]
        ax.plot(steps, means, marker="o", color=f"C{i}", label=network)
        for s in steps:
            values = list(table[(network, s)]["instability"].values())
            ax.scatter([s] * len(values), values, color=f"C{i}", alpha=0.35, s=12)
    ax.axhline(STABLE_POINTS, color="grey", linestyle="--", linewidth=1, label="stable below")
    ax.set_xlabel("rewind step K")
    ax.set_ylabel("instability (points of validation error)")
    ax.set_title(f"{study.name}: mean over seeds, seeds as points")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return write_figure(fig, path)
