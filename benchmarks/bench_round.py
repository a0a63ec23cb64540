#!/usr/bin/env python
"""Target 7: the cost of one full-size round, before and after issue 22's changes, side by side.

One dense round (`--lth_rounds 0`) of the full-IMDb TextCNN (17,500 train / 7,500 validation / 25,000 test,
256 tokens, 3 epochs, batch 64), each in a fresh process of `examples/run_lth.py`, the two settings interleaved:

- **before**: the withdrawn full-size runs' settings (`experiments/imdb_cnn.json`): fp32, validation after every
  epoch with a checkpoint, the best epoch loaded at the end, then validation and test again;
- **after**: `--bf16` (autocast on this CPU's bf16 instructions, fp32 master weights), no evaluation or checkpoint
  during the round (each split is evaluated once, after it, in length-sorted batches), tokenised data reused from
  the datasets cache.

Each process's round is split into train (the record's `train_time_s`, in-round evaluations included), validation
and test (Trainer's `*_runtime`), and the rest (start, data loading, tokenizer, saving), from the process's wall time.
Medians over `--pairs` interleaved pairs, with the range. Each process uses `--threads` torch threads (default 1,
as the studies run: on this 2-core VM a TextCNN step took 240 ms in fp32 on one thread and 600-780 ms on two).

    python benchmarks/bench_round.py              # ~6 minutes a pair on 2 cores
    python benchmarks/bench_round.py --quick      # the shipped sample, 1 epoch: a smoke test
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SETTINGS = {
    "before": [],
    "after": ["--bf16", "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"],
}


def run_round(name: str, out: Path, quick: bool, threads: int) -> dict:
    config = common.REPO_ROOT / "experiments" / "imdb_cnn.json"
    train, test = common.data_file("imdb", "train", quick), common.data_file("imdb", "test", quick)
    command = [sys.executable, str(common.REPO_ROOT / "examples" / "run_lth.py"), str(config),
               "--train_file", str(train), "--test_file", str(test), "--output_dir", str(out / name),
               "--lth_rounds", "0", "--lth_controls", "", "--log_level", "warning", *SETTINGS[name]]
    if quick:
        command += ["--num_train_epochs", "1"]
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=common.REPO_ROOT, env=env)
    wall = time.perf_counter() - started
    record = json.loads((out / name / "lth_results.json").read_text())["rounds"][0]
    phases = {"train": record["train_time_s"], "validation": record["eval_runtime"], "test": record["test_runtime"]}
    phases["rest"] = wall - sum(phases.values())
    return {"wall": wall, **phases, "eval_accuracy": record["eval_accuracy"], "test_accuracy": record["test_accuracy"]}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each round's process (the "
                        "studies run one thread a process, two processes side by side)")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    args = parser.parse_args()
    raw: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for pair in range(args.pairs):
        order = list(SETTINGS) if pair % 2 == 0 else list(reversed(SETTINGS))
        for name in order:
            with tempfile.TemporaryDirectory() as tmp:
                raw[name].append(run_round(name, Path(tmp), args.quick, args.threads))
            print(f"pair {pair + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in raw[name][-1].items()), flush=True)
    rows = []
    for phase in ("wall", "train", "validation", "test", "rest"):
        before = [r[phase] for r in raw["before"]]
        after = [r[phase] for r in raw["after"]]
        ratios = sorted(a / b for a, b in zip(after, before))
        target = "<= 0.5x" if phase == "wall" else ""
        ratio = common.median(after) / common.median(before)
        rows.append(common.Row(
            f"{phase} s, after", common.median(after), "s", f"{phase} s, before", common.median(before), target,
            met=(ratio <= 0.5) if target else None,
            note=f"per-pair ratios {ratios[0]:.2f}-{ratios[-1]:.2f}; after {min(after):.1f}-{max(after):.1f} s, "
                 f"before {min(before):.1f}-{max(before):.1f} s",
        ))
    for split in ("eval_accuracy", "test_accuracy"):
        rows.append(common.Row(f"{split}, after", common.median(r[split] for r in raw["after"]), "",
                               f"{split}, before", common.median(r[split] for r in raw["before"]),
                               note="one seed: the accuracy parity study is in docs/performance.md"))
    command = "python benchmarks/bench_round.py" + (" --quick" if args.quick else f" --pairs {args.pairs}") + (
        f" --threads {args.threads}" if args.threads != 1 else "")
    common.report("round" + ("_quick" if args.quick else ""), "Target 7: one full-size TextCNN round, before and after",
                  rows, raw, args.out, {"command": command, "settings": SETTINGS, "pairs": args.pairs,
                                        "threads": args.threads})


if __name__ == "__main__":
    main()
