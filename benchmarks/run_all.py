#!/usr/bin/env python
"""Run every benchmark of issue 5 and write a summary table.

    python benchmarks/run_all.py                 # full sizes (about 30 minutes on 2 cores); results in benchmarks/results/
    python benchmarks/run_all.py --quick         # tiny sizes, under a minute: a smoke test (CI), no targets judged
    python benchmarks/run_all.py --only pruning,compact

Full runs start each benchmark in its own process (no allocator or thread state carried from one to the next);
quick runs call them in this process. Each benchmark writes `<out>/<name>.json` and `.txt`; this script adds
`<out>/summary.md` (the table of docs/performance.md) and `<out>/summary.json`, over every result in `<out>`
(so `--only` refreshes some rows and keeps the others).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

BENCHMARKS = {  # name -> (module, result file stem, the target it measures)
    "step_overhead": ("bench_step_overhead", "step_overhead", "1. step overhead"),
    "pruning": ("bench_pruning", "pruning", "2. pruning step"),
    "pruning_contention": ("bench_pruning_contention", "pruning_contention", "2. pruning step, shared CPU"),
    "memory": ("bench_memory", "memory", "3. memory"),
    "data": ("bench_data", "data", "4. data"),
    "compact": ("bench_compact", "compact", "5. tickets on disk"),
    "inference": ("bench_inference", "inference", "6. inference of tickets"),
}


def summary(out: Path, names: list[str], quick: bool) -> str:
    lines = ["| target | figure | value | anchor | anchor value | ratio | target value | met | command |",
             "|---|---|---|---|---|---|---|---|---|"]
    collected = {}
    for name in names:
        _, stem, target = BENCHMARKS[name]
        path = out / f"{stem}{'_quick' if quick else ''}.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        collected[name] = result
        for row in result["rows"]:
            ratio = f"{row['ratio']:.3f}x" if row["ratio"] is not None else "-"
            met = "" if row["met"] is None else ("yes" if row["met"] else "**no**")
            lines.append("| " + " | ".join([
                target, row["figure"], common.fmt(row["value"], row["unit"]), row["anchor"] or "-",
                common.fmt(row["anchor_value"], row["unit"]) if row["anchor_value"] is not None else "-", ratio,
                row["target"] or "-", met, f"`{row.get('command') or result['settings'].get('command', '')}`",
            ]) + " |")
    text = "\n".join(lines) + "\n"
    suffix = "_quick" if quick else ""
    (out / f"summary{suffix}.md").write_text(text)
    (out / f"summary{suffix}.json").write_text(json.dumps(
        {"machine": common.machine(), "benchmarks": {k: v["rows"] for k, v in collected.items()}}, indent=1) + "\n")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results (quick: a temp folder)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {list(BENCHMARKS)}")
    out = args.out or (common.RESULTS_DIR if not args.quick else Path(__import__("tempfile").mkdtemp(prefix="hf_lth_bench_")))
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        module_name = BENCHMARKS[name][0]
        extra = ["--out", str(out)] + (["--quick"] if args.quick else [])
        started = time.perf_counter()
        print(f"== {name} ({module_name}) ==", flush=True)
        if args.quick:
            importlib.import_module(module_name).main(extra)
        else:
            status = subprocess.run([sys.executable, str(Path(__file__).with_name(module_name + ".py")), *extra]).returncode
            if status:
                failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.1f} s ==\n", flush=True)
    print(summary(out, list(BENCHMARKS), args.quick))  # every result in `out`, also those of earlier runs
    print(f"results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
