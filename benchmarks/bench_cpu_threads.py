#!/usr/bin/env python
"""One TextCNN training step (the `cnn` preset, batch 64 x 256 tokens, AdamW) in fp32 and bf16 autocast, on one
and on two torch threads: which setting a study should run its processes with.

Each setting runs in a fresh process (threads are fixed at start), `--processes` times, interleaved; each process
times `--steps` steps after one warm-up step and reports the median. Printed: the median over processes and the
range, per setting, and bf16's speed-up at each thread count.

    python benchmarks/bench_cpu_threads.py                # about 3 minutes on 2 cores; run it on a quiet machine
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

STEP = r"""
import json, statistics, sys, time, torch
from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification
bf16, steps = sys.argv[1] == "bf16", int(sys.argv[2])
torch.manual_seed(0)
model = TextCNNForSequenceClassification(TextCNNConfig(vocab_size=25000, num_labels=2, embedding_dim=100,
                                                       num_filters=100, filter_sizes=[3, 4, 5], dropout=0.5))
optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
labels = torch.randint(0, 2, (64,))
def step():
    ids = torch.randint(0, 25000, (64, 256))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
    loss.backward(); optimizer.step(); optimizer.zero_grad()
step()
times = []
for _ in range(steps):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(json.dumps({"median_ms": 1000 * statistics.median(times), "threads": torch.get_num_threads()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    args = parser.parse_args()
    settings = [(threads, precision) for threads in (1, 2) for precision in ("fp32", "bf16")]
    raw: dict[str, list[float]] = {f"{t} thread(s) {p}": [] for t, p in settings}
    for _ in range(args.processes):
        for threads, precision in settings:
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            out = subprocess.run([sys.executable, "-c", STEP, precision, str(args.steps)], env=env, check=True,
                                 capture_output=True, text=True).stdout
            raw[f"{threads} thread(s) {precision}"].append(json.loads(out.strip().splitlines()[-1])["median_ms"])
    rows = []
    for threads in (1, 2):
        fp32, bf16 = raw[f"{threads} thread(s) fp32"], raw[f"{threads} thread(s) bf16"]
        for name, values in (("fp32", fp32), ("bf16", bf16)):
            anchor = raw["1 thread(s) fp32"]
            rows.append(common.Row(f"step, {threads} thread(s), {name}", statistics.median(values), "ms",
                                   "1 thread, fp32", statistics.median(anchor),
                                   note=f"range {min(values):.0f}-{max(values):.0f} ms over {len(values)} processes"))
    command = f"python benchmarks/bench_cpu_threads.py --processes {args.processes} --steps {args.steps}"
    common.report("cpu_threads", "TextCNN training step: threads and bf16 on this CPU", rows, raw, args.out,
                  {"command": command})


if __name__ == "__main__":
    main()
