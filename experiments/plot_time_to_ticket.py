#!/usr/bin/env python
"""Both data sets' time-to-ticket in one figure: a row per data set, a panel per sparsity.

    python experiments/plot_time_to_ticket.py --out results/time_to_ticket.png \
        "IMDb (accuracy)=accuracy:results/imdb_sample_cnn_seed42,results/imdb_sample_cnn_seed43,..." \
        "Yelp-5 (macro-F1)=f1:results/yelp5_sample_cnn_seed42,..."

Each argument is `TITLE=METRIC:FOLDER,FOLDER,...`; the numbers are those of `summarize_time_to_ticket.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from summarize_time_to_ticket import TARGETS, plot, summarize  # experiments/, the script's folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("panels", nargs="+", help="TITLE=METRIC:FOLDER,FOLDER,...")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(args.panels), len(TARGETS), figsize=(6 * len(TARGETS), 4.5 * len(args.panels)),
                             squeeze=False)
    for row, panel in zip(axes, args.panels):
        title, _, spec = panel.partition("=")
        metric, _, folders = spec.partition(":")
        if not folders or metric not in ("accuracy", "f1"):
            parser.error(f"'{panel}' is not TITLE=accuracy|f1:FOLDER,FOLDER,...")
        _, data = summarize([Path(f) for f in folders.split(",")], metric)
        plot(data, metric, title, axes=list(row))
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
