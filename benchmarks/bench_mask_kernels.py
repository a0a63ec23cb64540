#!/usr/bin/env python
"""Target 1, profile: the per-step mask multiplication, `param *= mask` with a bool mask and with its uint8 view.

The masks of the CNN preset (25k vocabulary) and of a BERT-base encoder at 80% sparsity, warm in cache, on one and
on two intra-op threads; medians of `--repeats` runs of the whole set, the variants interleaved.

    python benchmarks/bench_mask_kernels.py [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import torch  # noqa: E402

SHAPES = {
    "cnn": [(25000, 100), (100, 100, 3), (100, 100, 4), (100, 100, 5), (2, 300)],
    "bert-base encoder": [s for _ in range(12) for _, s in common.BERT_BASE_LAYER],
    "one bert-base layer": [s for _, s in common.BERT_BASE_LAYER],
}


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 21)
    threads_before = torch.get_num_threads()
    g = torch.Generator().manual_seed(0)
    rows, raw = [], {}
    for name, shapes in SHAPES.items():
        if args.quick:
            shapes = [tuple(max(1, d // 8) for d in s) for s in shapes]
        weights = [torch.randn(s, generator=g) for s in shapes]
        masks = [torch.rand(s, generator=g) > 0.8 for s in shapes]
        u8 = [m.view(torch.uint8) for m in masks]
        for threads in sorted({1, threads_before}):
            torch.set_num_threads(threads)
            times = {"bool": [], "uint8": []}
            for _ in range(repeats):
                for variant, ms in (("bool", masks), ("uint8", u8)):
                    start = time.perf_counter()
                    for w, m in zip(weights, ms):
                        w.mul_(m)
                    times[variant].append(time.perf_counter() - start)
            raw[f"{name}, {threads} thread(s)"] = times
            rows.append(common.Row(
                f"{name} ({sum(w.numel() for w in weights) / 1e6:.1f}M weights): param *= mask.view(uint8), "
                f"{threads} thread(s)", common.median(times["uint8"]) * 1e3, "ms",
                "param *= mask (bool)", common.median(times["bool"]) * 1e3))
    torch.set_num_threads(threads_before)
    settings = {"command": common.command_line(), "repeats": repeats, "quick": args.quick}
    common.report("mask_kernels" + ("_quick" if args.quick else ""), "Target 1, profile: mask multiplication kernels",
                  rows, raw, args.out, settings)
    return rows


if __name__ == "__main__":
    main()
