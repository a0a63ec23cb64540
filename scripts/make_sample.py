"""Build the small samples that hf_lth ships in `hf_lth/sample_data`, so that its default run and its tests work
offline.

Reads a full data set's Parquet files (default `../shared/data/<dataset>` beside the checkout) and writes a
seeded, stratified random sample drawn without replacement: each label keeps its share of the source (rounded by
largest remainder), so a balanced source gives a balanced sample.

- `imdb`:  `imdb_train.parquet` 2,000 rows (1,000 / 1,000), `imdb_test.parquet` 1,000 rows (500 / 500);
- `yelp5`: `yelp5_train.parquet` 2,500 rows, `yelp5_test.parquet` 1,000 rows (real Yelp reviews, label =
  stars - 1, with the source's class imbalance).

Columns `text` (string) and `label` (int64), rows in random order.

    python scripts/make_sample.py imdb|yelp5 [--source DIR] [--out DIR] [--seed 42]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZES = {"imdb": {"train": 2000, "test": 1000}, "yelp5": {"train": 2500, "test": 1000}}


def stratified_counts(class_counts: np.ndarray, rows: int) -> np.ndarray:
    """Rows per class proportional to `class_counts`, summing to `rows` (largest remainder; ties to lower ids)."""
    exact = class_counts * rows / class_counts.sum()
    counts = np.floor(exact).astype(int)
    by_remainder = np.argsort(-(exact - counts), kind="stable")
    counts[by_remainder[: rows - counts.sum()]] += 1
    return counts


def stratified_sample(table: pa.Table, rows: int, rng: np.random.Generator) -> pa.Table:
    """`rows` rows drawn without replacement, each label in its source proportion, in random order."""
    labels = table.column("label").to_numpy()
    classes, class_counts = np.unique(labels, return_counts=True)
    per_class = stratified_counts(class_counts, rows)
    picked = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), n, replace=False) for c, n in zip(classes, per_class)]
    )
    rng.shuffle(picked)
    return table.select(["text", "label"]).take(pa.array(picked))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=sorted(SIZES))
    parser.add_argument("--source", type=Path, help="folder of train.parquet and test.parquet "
                                                    "(default ../shared/data/DATASET)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "hf_lth" / "sample_data")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    source = args.source or REPO_ROOT.parent / "shared" / "data" / args.dataset

    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, rows in SIZES[args.dataset].items():
        table = pq.read_table(source / f"{split}.parquet", columns=["text", "label"])
        sample = stratified_sample(table, rows, rng)
        sample = sample.cast(pa.schema([("text", pa.string()), ("label", pa.int64())]))
        target = args.out / f"{args.dataset}_{split}.parquet"
        pq.write_table(sample, target, compression="zstd", compression_level=19)
        counts = np.bincount(sample.column("label").to_numpy()).tolist()
        print(f"{target}: {sample.num_rows} rows, per label {counts}, {target.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
