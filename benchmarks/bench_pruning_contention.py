#!/usr/bin/env python
"""Why the first BERT-base pruning call once took ~4 s: the earlier radix select on a shared CPU.

The earlier implementation (commit 38551f4, `hf_lth/pruning.py`, read here with `git show`) computed the keys of
each whole tensor with torch ops, three passes, ~2,000 kernels of 2.4M elements, each split over the intra-op
threads. When another process keeps a core busy, every such kernel waits for that core (measured: 8 ms instead
of 0.4 ms a kernel on 2 cores), so a call takes seconds; whichever call happens to meet the busy core looks like
a slow "first call". The current implementation scans cache-sized chunks with numpy kernels on one thread.

Both are timed side by side (alternating, medians) on the BERT-base-sized encoder, with the machine as it is and
with a busy loop started on purpose (`python -c "while True: pass"`, one process, killed afterwards).

    python benchmarks/bench_pruning_contention.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import torch  # noqa: E402

import hf_lth.pruning.strategies as current  # noqa: E402
from hf_lth.pruning.masks import TicketMask  # noqa: E402

EARLIER_COMMIT = "38551f4"


def earlier_pruning():
    """hf_lth/pruning.py as of EARLIER_COMMIT, as a module of the hf_lth.pruning package (None without git history)."""
    try:
        source = subprocess.run(["git", "show", f"{EARLIER_COMMIT}:hf_lth/pruning.py"], capture_output=True, text=True,
                                check=True, cwd=common.REPO_ROOT).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    source = source.replace("from .errors import", "from ..errors import")  # it lay beside masks.py, one level up
    module = types.ModuleType("hf_lth.pruning._strategies_earlier")
    module.__package__ = "hf_lth.pruning"
    exec(compile(source, f"{EARLIER_COMMIT}:hf_lth/pruning.py", "exec"), module.__dict__)  # noqa: S102
    return module


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    earlier = earlier_pruning()
    weights = common.bert_base_sized_weights(layers=1 if args.quick else 12, hidden=128 if args.quick else 768)
    mask = TicketMask({n: torch.ones(w.shape, dtype=torch.bool) for n, w in weights.items()})
    impls = {"current": current} | ({"earlier": earlier} if earlier else {})
    times = {cond: {name: [] for name in impls} for cond in ("as is", "one core busy")}
    for condition in times:
        hog = None
        if condition == "one core busy":
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            for rep in range(repeats):
                for name in (list(impls) if rep % 2 == 0 else list(impls)[::-1]):
                    start = time.perf_counter()
                    impls[name].prune("global_magnitude", weights, mask, 0.2)
                    times[condition][name].append(time.perf_counter() - start)
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    med = {c: {n: common.median(v) for n, v in t.items()} for c, t in times.items()}
    rows = []
    for condition in times:
        rows.append(common.Row(
            f"hf_lth global magnitude, BERT-base-sized, machine {condition}", med[condition]["current"], "s",
            f"radix select of {EARLIER_COMMIT}", med[condition].get("earlier"), "<= 0.5 s",
            med[condition]["current"] <= 0.5 if not args.quick else None,
        ))
    if earlier is None:
        rows[0].note = f"git history without {EARLIER_COMMIT}: the earlier implementation was not measured"
    settings = {"command": common.command_line(), "repeats": repeats, "quick": args.quick, "torch_threads": torch.get_num_threads()}
    common.report("pruning_contention" + ("_quick" if args.quick else ""),
                  "Target 2, investigation: pruning on a shared CPU", rows, {"times_s": times}, args.out, settings)
    return rows


if __name__ == "__main__":
    main()
