"""Build the small IMDb sample that hf_lth ships, so that its default run works offline.

Reads the full IMDb Parquet files (default `../shared/data/imdb` beside the checkout) and writes a
seeded, class-balanced random sample to `hf_lth/sample_data/`:

- `imdb_train.parquet`: 2,000 rows (1,000 negative, 1,000 positive) from the train split;
- `imdb_test.parquet`:  1,000 rows (500 / 500) from the test split.

Columns `text` (string) and `label` (int64), rows in random order.

    python scripts/make_imdb_sample.py [--source DIR] [--out DIR] [--seed 42]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZES = {"train": 2000, "test": 1000}


def balanced_sample(table: pa.Table, rows: int, rng: np.random.Generator) -> pa.Table:
    """`rows` rows drawn without replacement, the same number from each label, in random order."""
    labels = table.column("label").to_numpy()
    classes = np.unique(labels)
    if rows % len(classes):
        raise ValueError(f"{rows} rows cannot be split evenly over {len(classes)} classes")
    per_class = rows // len(classes)
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in classes])
    rng.shuffle(picked)
    return table.select(["text", "label"]).take(pa.array(picked))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "imdb")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "hf_lth" / "sample_data")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, rows in SIZES.items():
        table = pq.read_table(args.source / f"{split}.parquet", columns=["text", "label"])
        sample = balanced_sample(table, rows, rng)
        sample = sample.cast(pa.schema([("text", pa.string()), ("label", pa.int64())]))
        target = args.out / f"imdb_{split}.parquet"
        pq.write_table(sample, target, compression="zstd", compression_level=19)
        print(f"{target}: {sample.num_rows} rows, {target.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
