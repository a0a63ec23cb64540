#!/usr/bin/env python
"""Issue 15, on a GPU: 2:4 tickets with `torch.sparse.to_sparse_semi_structured` against dense, in fp16 and bf16.

Every BERT-base encoder linear weight is pruned to 2:4 by magnitude (`--lth_granularity 2:4`'s rule,
`hf_lth.structure.NMGranularity`), its pattern checked, then the forward of the whole encoder (batch 64 x 128
tokens) and of each weight shape alone is timed dense and semi-structured (`torch.utils.benchmark`, medians), and
the logits compared. Where no CUDA GPU exists, it says so and exits 0 (nothing to measure).

    python benchmarks/bench_semi_structured_gpu.py [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import torch  # noqa: E402
from torch.utils.benchmark import Timer  # noqa: E402


def median_ms(fn, **globals_) -> float:
    return Timer("fn()", globals={"fn": fn, **globals_}).blocked_autorange(min_run_time=1.0).median * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("skipped: no CUDA GPU here (torch.cuda.is_available() is False); 2:4 kernels need one.")
        return 0
    from torch.sparse import to_sparse_semi_structured
    from transformers import BertConfig, BertForSequenceClassification

    from hf_lth import TicketMask, resolve_prune_scope
    from hf_lth.structure import get_granularity

    rows, raw = [], {}
    granularity = get_granularity("2:4")
    for dtype in (torch.float16, torch.bfloat16):
        torch.manual_seed(0)
        dense = BertForSequenceClassification(BertConfig(num_labels=2)).to("cuda", dtype).eval()
        names = resolve_prune_scope(dense)
        params = dict(dense.named_parameters())
        mask = granularity.prune("global_magnitude", {n: params[n].detach() for n in names},
                                 TicketMask.dense(dense, names), 0.5)
        mask.apply_(dense)
        assert all(granularity.pattern_holds(params[n]) for n in names), "the 2:4 pattern does not hold"
        sparse = copy.deepcopy(dense)
        for name in names:
            module = sparse.get_submodule(name.removesuffix(".weight"))
            module.weight = torch.nn.Parameter(to_sparse_semi_structured(module.weight.detach()), requires_grad=False)
        ids = torch.randint(1, 30522, (64, 128), device="cuda")
        with torch.inference_mode():
            difference = (sparse(input_ids=ids).logits - dense(input_ids=ids).logits).abs().max().item()
            dense_ms = median_ms(lambda: dense(input_ids=ids))
            sparse_ms = median_ms(lambda: sparse(input_ids=ids))
        kind = str(dtype).removeprefix("torch.")
        rows.append(common.Row(f"BERT-base encoder 2:4, {kind}, batch 64 x 128", sparse_ms, "ms", "dense", dense_ms,
                               note=f"max |logit difference| {difference:.3g}"))
        for out_features, in_features in {(768, 768), (3072, 768), (768, 3072)}:
            weight = torch.randn(out_features, in_features, device="cuda", dtype=dtype)
            weight *= granularity.prune("global_magnitude", {"w": weight}, TicketMask({"w": torch.ones_like(
                weight, dtype=torch.bool)}), 0.5)["w"].to(weight.device)
            x = torch.randn(64 * 128, in_features, device="cuda", dtype=dtype)
            packed = to_sparse_semi_structured(weight)
            with torch.inference_mode():
                d = median_ms(lambda: torch.nn.functional.linear(x, weight))
                s = median_ms(lambda: torch.nn.functional.linear(x, packed))
            rows.append(common.Row(f"linear {out_features}x{in_features} 2:4, {kind}, 8192 tokens", s, "ms", "dense", d))
        raw[kind] = {"logit_difference": difference}
    common.report("semi_structured_gpu", "2:4 semi-structured sparsity on a GPU", rows, raw, args.out,
                  {"command": "python benchmarks/bench_semi_structured_gpu.py", "gpu": torch.cuda.get_device_name()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
