"""Build the small Yelp-5 sample that hf_lth ships, so that 5-class runs and tests work offline.

Reads the Yelp-5 Parquet files (default `../shared/data/yelp5` beside the checkout: real Yelp reviews, label =
stars - 1) and writes a seeded, stratified random sample to `hf_lth/sample_data/`, keeping the real class
imbalance (each label's share as in the source, rounded by largest remainder):

- `yelp5_train.parquet`: 2,500 rows from the train file;
- `yelp5_test.parquet`:  1,000 rows from the test file.

Columns `text` (string) and `label` (int64, 0..4), rows in random order.

    python scripts/make_yelp5_sample.py [--source DIR] [--out DIR] [--seed 42]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZES = {"train": 2500, "test": 1000}


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
    parser.add_argument("--source", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "yelp5")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "hf_lth" / "sample_data")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, rows in SIZES.items():
        table = pq.read_table(args.source / f"{split}.parquet", columns=["text", "label"])
        sample = stratified_sample(table, rows, rng)
        sample = sample.cast(pa.schema([("text", pa.string()), ("label", pa.int64())]))
        target = args.out / f"yelp5_{split}.parquet"
        pq.write_table(sample, target, compression="zstd", compression_level=19)
        counts = np.bincount(sample.column("label").to_numpy(), minlength=5).tolist()
        print(f"{target}: {sample.num_rows} rows, labels 0..4 {counts}, {target.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
