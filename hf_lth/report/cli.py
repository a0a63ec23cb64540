"""`hf-lth-report`: an experiment's report (`report.md` and the accuracy-versus-sparsity plot), or several compared.

Run on a folder, `hf-lth-report OUTPUT_DIR` (installed with the package); on several folders, a side-by-side
comparison (`hf-lth-report A B --labels a,b --plot cmp.png`) or, with `--seeds`, the mean and standard deviation
of the same experiment run with several seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..storage.folder import ExperimentFolder
from ..storage.paths import PLOT_FILE
from .plots import plot_accuracy_vs_sparsity, plot_comparison
from .results import load_branches, load_results
from .text import (
    comparison_table,
    describe_headline,
    describe_seeds_headline,
    headline,
    round_table,
    seeds_headline,
    seeds_table,
    title,
)


def write_report(folder: str | Path, split: str = "test") -> tuple[str, Path]:
    """Write what `hf-lth-report FOLDER` shows into an experiment folder (or a branch's).

    That is `report.md` (the round table, the headline figures in words and, where there are branches, their
    comparison) and the plot `accuracy_vs_sparsity.png` (`branches.png` too).

    Args:
        folder: the experiment's (or a branch's) folder, holding `lth_results.json`.
        split: the split the headline figures and plots use: `"test"` or `"eval"` (validation).

    Returns:
        The report's text and the plot's path.

    Raises:
        FileNotFoundError: `folder` holds no `lth_results.json`.
    """
    experiment = ExperimentFolder(folder)
    folder = Path(folder)
    results = load_results(folder)
    parts = [title(results), round_table(results, folder),
             "\n".join(describe_headline(headline(results, split=split, folder=folder)))]
    branches = load_branches(folder)
    if branches:
        lines = {"main": results, **branches}
        parts.append("Branches of this experiment (same round 0):\n\n" + comparison_table(lines, split))
        plot_comparison(lines, experiment.branches_plot_path, split)
    parts.append(f"![{results.get('selection_metric', 'eval_accuracy').removeprefix('eval_')} against sparsity]"
                 f"({PLOT_FILE})")
    text = "\n\n".join(parts) + "\n"
    experiment.report_path.write_text(text, encoding="utf-8")
    return text, plot_accuracy_vs_sparsity(results, experiment.plot_path, split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Round table and accuracy-vs-sparsity plot of LTH experiments.")
    parser.add_argument("output_dirs", nargs="+", metavar="output_dir",
                        help="experiment folder(s) holding lth_results.json; several are compared side by side")
    parser.add_argument("--plot", help="PNG path (default OUTPUT_DIR/accuracy_vs_sparsity.png for one folder, "
                                       "accuracy_vs_sparsity_eval.png with --split eval)")
    parser.add_argument("--split", default="test", choices=["eval", "test"],
                        help="the split whose accuracy the plot and the headline show: test (default) or eval "
                             "(validation; its plot is accuracy_vs_sparsity_eval.png); matching is always judged "
                             "on validation")
    parser.add_argument("--labels", help="comma-separated names of the folders in the comparison (default: their names)")
    parser.add_argument("--seeds", action="store_true", help="the folders are one experiment with several seeds: "
                                                             "report the mean and standard deviation")
    args = parser.parse_args(argv)
    try:
        runs = [load_results(folder) for folder in args.output_dirs]
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(runs) == 1 and not args.seeds:
        results, folder = runs[0], args.output_dirs[0]
        print(title(results))
        print(round_table(results, folder))
        print("\n" + "\n".join(describe_headline(headline(results, split=args.split, folder=folder))))
        branches = load_branches(folder)
        if branches:
            lines = {"main": results, **branches}
            print("\nBranches of this experiment (same round 0):\n\n" + comparison_table(lines, args.split))
            branches_plot = ExperimentFolder(folder).branches_plot_path
            print(f"\nbranch plot written to {plot_comparison(lines, branches_plot, args.split)}")
        # the test-split plot is the one an experiment publishes: another split's plot gets a name of its own
        plot = plot_accuracy_vs_sparsity(results, args.plot or ExperimentFolder(folder).split_plot_path(args.split),
                                         args.split)
    else:
        if not args.plot:
            print("error: with several folders, give --plot PATH for the figure.", file=sys.stderr)
            return 2
        labels = args.labels.split(",") if args.labels else [Path(folder).resolve().name for folder in args.output_dirs]
        if len(labels) != len(runs):
            print(f"error: {len(labels)} labels for {len(runs)} folders.", file=sys.stderr)
            return 2
        if args.seeds:
            print(seeds_table(runs, args.split))
            summary = seeds_headline(runs, split=args.split)
            print("\n" + "\n".join(describe_seeds_headline(summary)))
            plot = plot_accuracy_vs_sparsity(runs, args.plot, args.split)
        else:
            compared = dict(zip(labels, runs))
            print(comparison_table(compared, args.split))
            plot = plot_comparison(compared, args.plot, args.split)
    print(f"\nplot written to {plot}")
    return 0

