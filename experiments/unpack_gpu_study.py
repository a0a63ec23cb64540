#!/usr/bin/env python
"""Put the records that `experiments/gpu_study.sh` packed on the GPU machine into `results/`.

`gpu_study.tar.gz` holds `gpu_study/imdb_minilm_gpu_seed4X/` (each run's lth_results.json, report, plot, and every
round's and control's config.json, log history and per-example predictions; no weights, masks or tokenizers), the
seeds' summary, `env.txt`, the assets' manifest (`assets.json`, `fp16_rounding.json`) and the logs. This writes

  results/imdb_minilm_gpu_seed42/ ... seed44/   the runs' records
  results/imdb_minilm_gpu/                      the seeds' summary (.md, .png), env.txt, the manifests, logs/

Usage: python experiments/unpack_gpu_study.py PATH/gpu_study.tar.gz [--results results] [--force]
(a folder that exists already is kept unless --force replaces it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "imdb_minilm_gpu"


def unpack(archive: Path, results: Path, force: bool = False) -> list[Path]:
    """Extract `archive` into `results`; return the folders written."""
    written = []
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
        root = Path(tmp) / "gpu_study"
        if not root.is_dir():
            raise SystemExit(f"error: {archive} has no gpu_study/ folder")
        moves = {run: results / run.name for run in sorted(root.glob(f"{NAME}_seed*")) if run.is_dir()}
        extra = results / NAME
        for dest in [*moves.values(), extra]:
            if dest.exists() and not force:
                raise SystemExit(f"error: {dest} exists; pass --force to replace it")
        results.mkdir(parents=True, exist_ok=True)
        for src, dest in moves.items():
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(str(src), dest)
            written.append(dest)
        shutil.rmtree(extra, ignore_errors=True)
        shutil.move(str(root), extra)  # what is left: summary, env.txt, manifests, logs
        written.append(extra)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", type=Path, help="gpu_study.tar.gz from the GPU machine's $OUT")
    parser.add_argument("--results", type=Path, default=REPO / "results", help="where to put the records")
    parser.add_argument("--force", action="store_true", help="replace folders that exist already")
    args = parser.parse_args(argv)
    for path in unpack(args.archive, args.results, args.force):
        files = [p for p in path.rglob("*") if p.is_file()]
        print(f"{path}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
