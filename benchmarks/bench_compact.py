#!/usr/bin/env python
"""Target 5: a ticket's weights stored compactly (bitmask + surviving values, safetensors) at 90% sparsity.

For each model, the weights are pruned to 90% by global magnitude over hf_lth's default scope and zeroed, then
written twice: `save_pretrained` (the dense `model.safetensors` of a ticket folder, the anchor) and
`hf_lth.storage.compact.save_compact` (`model.compact.safetensors`). The compact file is loaded back and compared with
the model's state dict tensor by tensor (`torch.equal`); the saving and loading times are medians of a few runs.

    python benchmarks/bench_compact.py           # CNN, LSTM, tiny BERT, BERT-base (about a minute)
    python benchmarks/bench_compact.py --quick   # tiny sizes, seconds
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_step_overhead as models  # noqa: E402  (the same model builders)
import common  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from hf_lth import TicketMask, prune, resolve_prune_scope  # noqa: E402
from hf_lth.storage.compact import load_compact, save_compact  # noqa: E402

BERT_WITH_EMBEDDINGS = r"layer\.\d+\..*\.weight$,word_embeddings\.weight$,!LayerNorm"


def ticket(model, sparsity: float, scope: str = "auto") -> TicketMask:
    params = dict(model.named_parameters())
    names = resolve_prune_scope(model, scope)
    dense = TicketMask({n: torch.ones(params[n].shape, dtype=torch.bool) for n in names})
    mask = prune("global_magnitude", {n: params[n].detach() for n in names}, dense, sparsity)
    mask.apply_(model)
    return mask


def measure(model, mask: TicketMask, workdir: Path, repeats: int) -> dict:
    state = model.state_dict()
    dense_times, compact_times, load_times = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model.save_pretrained(workdir / "dense")
        dense_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        save_compact(model, mask, workdir / "model.compact.safetensors")
        compact_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        loaded = load_compact(workdir / "model.compact.safetensors")
        load_times.append(time.perf_counter() - start)
    dense_size = (workdir / "dense" / "model.safetensors").stat().st_size
    compact_size = (workdir / "model.compact.safetensors").stat().st_size
    saved_dense = load_file(str(workdir / "dense" / "model.safetensors"))
    exact = list(loaded) == list(state) and all(torch.equal(loaded[n], state[n]) for n in state)
    exact_vs_dense_file = all(torch.equal(loaded[n], saved_dense[n]) for n in saved_dense)
    stored = load_file(str(workdir / "model.compact.safetensors"))
    breakdown = {
        "bitmasks": sum(t.numel() for n, t in stored.items() if n.endswith("::bits")),
        "surviving values": sum(t.numel() * t.element_size() for n, t in stored.items() if n.endswith("::values")),
        "dense tensors outside the mask": sum(t.numel() * t.element_size() for n, t in stored.items() if "::" not in n),
    }
    breakdown["header and alignment"] = compact_size - sum(breakdown.values())
    masked_dense_bytes = sum(state[n].numel() * state[n].element_size() for n in mask)
    masked_compact_bytes = sum(int(mask[n].sum()) * state[n].element_size() + (mask[n].numel() + 7) // 8 for n in mask)
    return {
        "dense_bytes": dense_size,
        "compact_bytes": compact_size,
        "mask_file_bytes": mask.num_prunable(),  # lth_mask.safetensors: one byte per prunable weight
        "prunable_dense_bytes": masked_dense_bytes,
        "prunable_compact_bytes": masked_compact_bytes,
        "parameters": sum(t.numel() for t in state.values()),
        "prunable": mask.num_prunable(),
        "sparsity": mask.sparsity(),
        "compact_breakdown_bytes": breakdown,
        "exact": exact,
        "exact_vs_dense_file": exact_vs_dense_file,
        "save_pretrained_s": common.median(dense_times),
        "save_compact_s": common.median(compact_times),
        "load_compact_s": common.median(load_times),
    }


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--models", default="cnn,lstm,bert-tiny,bert-base")
    parser.add_argument("--sparsity", type=float, default=0.9)
    args = parser.parse_args(argv)
    setups = models.QUICK if args.quick else models.FULL
    repeats = args.repeats or (1 if args.quick else 3)
    cases = [(name, "auto") for name in args.models.split(",") if name]
    if "bert-base" in args.models:
        cases.append(("bert-base", BERT_WITH_EMBEDDINGS))
    rows, raw = [], {}
    for name, scope in cases:
        model = models.build_model(name, setups[name].vocab_size, args.quick)
        mask = ticket(model, args.sparsity, scope)
        with tempfile.TemporaryDirectory() as workdir:
            result = measure(model, mask, Path(workdir), repeats)
        label = name if scope == "auto" else f"{name} (scope: encoder linears + word embeddings)"
        raw[label] = result
        share = result["prunable"] / result["parameters"]
        rows.append(common.Row(
            f"{label}: compact ticket weights at {result['sparsity']:.0%} sparsity ({share:.0%} of parameters prunable)",
            result["compact_bytes"] / 2**20, "MiB", "save_pretrained model.safetensors", result["dense_bytes"] / 2**20,
            "<= 0.2x", (result["compact_bytes"] <= 0.2 * result["dense_bytes"]) if not args.quick else None,
            note=(f"round trip exact: {result['exact']} (vs the dense file: {result['exact_vs_dense_file']}); "
                  f"prunable tensors alone {result['prunable_compact_bytes'] / result['prunable_dense_bytes']:.3f}x; "
                  f"save {result['save_compact_s']:.2f} s (save_pretrained {result['save_pretrained_s']:.2f} s), "
                  f"load {result['load_compact_s']:.2f} s; the 1-byte lth_mask.safetensors beside it is "
                  f"{result['mask_file_bytes'] / 2**20:.1f} MiB; the compact file is "
                  + ", ".join(f"{k} {v / result['dense_bytes']:.3f}x" for k, v in result["compact_breakdown_bytes"].items())
                  + " of the dense file"),
        ))
        del model, mask
    settings = {"command": common.command_line(), "sparsity": args.sparsity, "repeats": repeats, "quick": args.quick}
    common.report("compact" + ("_quick" if args.quick else ""), "Target 5: compact tickets on disk", rows, raw, args.out,
                  settings)
    return rows


if __name__ == "__main__":
    main()
