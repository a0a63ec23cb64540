#!/usr/bin/env python
"""Target 2: global magnitude pruning of a BERT-base-sized encoder (72 matrices, 84.9M weights, 20% of the survivors).

Methods, timed side by side in rounds (the order rotates each round), medians reported:

- `hf_lth`: `hf_lth.prune("global_magnitude", ...)`, the trainer's path;
- `torch_prune`: `torch.nn.utils.prune.global_unstructured(..., L1Unstructured, amount=0.2)` on modules that hold the
  same matrices (what BERT-Tickets uses), undone with `prune.remove` between repetitions;
- `kthvalue`: `torch.kthvalue` over the concatenated magnitudes, then `|w| > threshold` per matrix;
- `sort`: the sort-based reference (stable sort of the survivors' magnitudes, ties by parameter then flat index),
  which defines the exact masks.

Peak extra memory is measured in a fresh subprocess per method: VmHWM after the call minus VmRSS before it
(VmHWM reset through /proc/self/clear_refs). The same subprocess times the first call of a fresh process.
Masks are compared with the sort-based reference on round 1 (dense) and on a late round (at 83.2% sparsity,
zeroed pruned weights, as the trainer passes them).

    python benchmarks/bench_pruning.py            # full size (a few minutes on 2 cores)
    python benchmarks/bench_pruning.py --quick    # tiny sizes, seconds
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import torch  # noqa: E402

from hf_lth.pruning.masks import TicketMask  # noqa: E402
from hf_lth.pruning.strategies import num_to_prune, prune  # noqa: E402

METHODS = ("hf_lth", "torch_prune", "kthvalue", "sort")


def dense_mask(weights) -> TicketMask:
    return TicketMask({n: torch.ones(w.shape, dtype=torch.bool) for n, w in weights.items()})


def run_hf_lth(weights, mask, fraction):
    return prune("global_magnitude", weights, mask, fraction)


def run_sort(weights, mask, fraction):
    """The reference: stable sort of survivors' |w| in parameter order then flat index; the first k go."""
    names = list(mask)
    scores = torch.cat([weights[n].abs().reshape(-1) for n in names])
    alive = torch.cat([mask[n].reshape(-1) for n in names])
    k = num_to_prune(fraction, int(alive.sum()))
    scores.masked_fill_(~alive, float("inf"))
    order = torch.sort(scores, stable=True).indices
    del scores
    alive[order[:k]] = False
    out, offset = {}, 0
    for n in names:
        size = mask[n].numel()
        out[n] = alive[offset : offset + size].view(mask[n].shape).clone()
        offset += size
    return TicketMask(out)


def run_kthvalue(weights, mask, fraction):
    """`torch.kthvalue` of the survivors' magnitudes; ties at the threshold are all kept (not exact)."""
    names = list(mask)
    survivors = torch.cat([weights[n].abs()[mask[n]] for n in names])
    k = num_to_prune(fraction, survivors.numel())
    threshold = torch.kthvalue(survivors, k).values if k else torch.tensor(-1.0)
    del survivors
    return TicketMask({n: (weights[n].abs() > threshold) & mask[n] for n in names})


class _Holder(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)


def torch_prune_modules(weights, mask):
    """Modules holding the weights, with the current mask already applied by `custom_from_mask`
    (as BERT-Tickets carries its masks from round to round)."""
    import torch.nn.utils.prune as tprune

    modules = {}
    for n, w in weights.items():
        module = _Holder(w)
        if not bool(mask[n].all()):
            tprune.custom_from_mask(module, "weight", mask[n])
        modules[n] = module
    return modules


def run_torch_prune(weights, mask, fraction, modules=None):
    import torch.nn.utils.prune as tprune

    modules = modules if modules is not None else torch_prune_modules(weights, mask)
    survivors = mask.num_kept()
    # L1Unstructured's amount is a fraction of all weights (pruned ones count, as zeros): prune k more.
    total = mask.num_prunable()
    k = num_to_prune(fraction, survivors)
    tprune.global_unstructured(
        [(m, "weight") for m in modules.values()], pruning_method=tprune.L1Unstructured, amount=total - survivors + k
    )
    return TicketMask({n: m.weight_mask.to(torch.bool) for n, m in modules.items()}), modules


def undo_torch_prune(modules):
    import torch.nn.utils.prune as tprune

    for m in modules.values():
        if hasattr(m, "weight_orig"):
            tprune.remove(m, "weight")


def late_round_state(weights, rounds: int):
    """Weights zeroed under the mask after `rounds` hf_lth rounds of 20% (as the trainer passes them)."""
    mask = dense_mask(weights)
    for _ in range(rounds):
        mask = run_hf_lth(weights, mask, 0.2)
    return {n: w * mask[n] for n, w in weights.items()}, mask


# ---------------------------------------------------------------------------------------------- child


def child(method: str, layers: int, hidden: int, late: int) -> None:
    """Fresh process: one call of `method`, its time and the peak RSS it adds (printed as one JSON line)."""
    weights = common.bert_base_sized_weights(layers=layers, hidden=hidden)
    if late:
        weights, mask = late_round_state(weights, late)
    else:
        mask = dense_mask(weights)
    modules = torch_prune_modules(weights, mask) if method == "torch_prune" else None
    func = {"hf_lth": run_hf_lth, "sort": run_sort, "kthvalue": run_kthvalue}.get(method)
    reset_ok = common.reset_peak_rss()
    before = common.proc_status_kib("VmRSS")
    start = time.perf_counter()
    if method == "torch_prune":
        result = run_torch_prune(weights, mask, 0.2, modules)
    else:
        result = func(weights, mask, 0.2)
    seconds = time.perf_counter() - start
    peak = common.proc_status_kib("VmHWM")
    del result
    print(json.dumps({"method": method, "first_call_s": seconds, "rss_before_kib": before, "hwm_kib": peak,
                      "reset_ok": reset_ok, "weights": sum(w.numel() for w in weights.values())}), flush=True)


def measure_in_child(method: str, layers: int, hidden: int, late: int) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--layers", str(layers), "--hidden", str(hidden),
           "--late", str(late)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=common.REPO_ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------- main


def masks_equal(a: TicketMask, b: TicketMask) -> bool:
    return list(a) == list(b) and all(torch.equal(a[n], b[n]) for n in a)


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__, quick_help="one small layer, one repetition (smoke test)",
                                    repeats_help="timed rounds over the methods")
    parser.add_argument("--layers", type=int, default=None, help="encoder layers (12 = BERT-base)")
    parser.add_argument("--hidden", type=int, default=None, help="hidden size (768 = BERT-base)")
    parser.add_argument("--late", type=int, default=8, help="hf_lth rounds before the late-round measurement")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    layers = args.layers or (1 if args.quick else 12)
    hidden = args.hidden or (128 if args.quick else 768)
    if args.child:
        child(args.child, layers, hidden, args.late)
        return []
    repeats = args.repeats or (1 if args.quick else 5)
    late_rounds = 2 if args.quick else args.late

    weights = common.bert_base_sized_weights(layers=layers, hidden=hidden)
    num_weights = sum(w.numel() for w in weights.values())
    mask = dense_mask(weights)
    late_weights, late_mask = late_round_state(weights, late_rounds)

    # Exactness against the sort-based reference, on a dense and on a late round.
    reference = run_sort(weights, mask, 0.2)
    late_reference = run_sort(late_weights, late_mask, 0.2)
    exact = {
        "hf_lth": masks_equal(run_hf_lth(weights, mask, 0.2), reference),
        "hf_lth_late": masks_equal(run_hf_lth(late_weights, late_mask, 0.2), late_reference),
        "kthvalue": masks_equal(run_kthvalue(weights, mask, 0.2), reference),
    }
    tp_mask, modules = run_torch_prune(weights, mask, 0.2)
    exact["torch_prune"] = masks_equal(tp_mask, reference)
    undo_torch_prune(modules)
    del reference, late_reference, tp_mask, modules

    # Timed rounds, interleaved; each method sees the same weights and mask.
    times = {m: [] for m in METHODS}
    late_times = []
    for rep in range(repeats):
        order = METHODS[rep % len(METHODS):] + METHODS[: rep % len(METHODS)]
        for method in order:
            if method == "torch_prune":
                modules = torch_prune_modules(weights, mask)
                start = time.perf_counter()
                run_torch_prune(weights, mask, 0.2, modules)
                times[method].append(time.perf_counter() - start)
                undo_torch_prune(modules)
                del modules
            else:
                func = {"hf_lth": run_hf_lth, "sort": run_sort, "kthvalue": run_kthvalue}[method]
                start = time.perf_counter()
                func(weights, mask, 0.2)
                times[method].append(time.perf_counter() - start)
        start = time.perf_counter()
        run_hf_lth(late_weights, late_mask, 0.2)
        late_times.append(time.perf_counter() - start)
    del late_weights, late_mask

    # Peak extra memory and first-call time, each in a fresh process.
    # (Quick mode: hf_lth only; every child imports torch and transformers, seconds each.)
    children = {m: measure_in_child(m, layers, hidden, 0) for m in (("hf_lth",) if args.quick else METHODS)}
    if not args.quick:
        children["hf_lth_late"] = measure_in_child("hf_lth", layers, hidden, late_rounds)
    extra = {m: (children[m]["hwm_kib"] - children[m]["rss_before_kib"]) * 1024 if m in children else float("nan")
             for m in (*METHODS, "hf_lth_late")}

    med = {m: common.median(v) for m, v in times.items()}
    per_weight = {m: b / num_weights for m, b in extra.items()}
    size = f"{len(weights)} matrices, {num_weights / 1e6:.1f}M weights"
    rows = [
        common.Row(
            f"hf_lth global magnitude, 20% of survivors ({size}), median of {repeats}", med["hf_lth"], "s",
            "torch.nn.utils.prune.global_unstructured", med["torch_prune"], "<= 0.5 s",
            med["hf_lth"] <= 0.5 if not args.quick else None,
            note=f"masks identical to the sort reference: round 1 {exact['hf_lth']}, late round {exact['hf_lth_late']}",
        ),
        common.Row("hf_lth (same)", med["hf_lth"], "s", "torch.kthvalue + per-matrix compare", med["kthvalue"],
                   note=f"kthvalue masks identical to the reference: {exact['kthvalue']}; "
                        f"global_unstructured: {exact['torch_prune']}"),
        common.Row("hf_lth (same)", med["hf_lth"], "s", "stable torch.sort reference", med["sort"]),
        common.Row(f"hf_lth at a late round ({0.8 ** late_rounds:.1%} of the weights kept)",
                   common.median(late_times), "s", "hf_lth round 1", med["hf_lth"]),
        common.Row("hf_lth first call in a fresh process", children["hf_lth"]["first_call_s"], "s",
                   "median of later calls", med["hf_lth"]),
        common.Row("hf_lth peak extra memory per prunable weight", per_weight["hf_lth"], "B",
                   "global_unstructured", per_weight["torch_prune"], "<= 1.5 B",
                   per_weight["hf_lth"] <= 1.5 if not args.quick else None,
                   note=f"fresh process; VmHWM reset: {children['hf_lth']['reset_ok']}; peak extra "
                        + ", ".join(f"{extra[m] / 2**20:.0f} MiB ({label})" for m, label in (
                            ("hf_lth", "hf_lth"), ("torch_prune", "global_unstructured"), ("kthvalue", "kthvalue"),
                            ("sort", "sort")) if m in children)),
        common.Row("hf_lth peak extra memory per prunable weight (same)", per_weight["hf_lth"], "B",
                   "torch.kthvalue", per_weight["kthvalue"]),
    ]
    if not args.quick:
        rows.append(common.Row("hf_lth peak extra memory per weight, late round", per_weight["hf_lth_late"], "B",
                               "round 1", per_weight["hf_lth"]))
    for row in rows:  # anchors not measured in quick mode
        if row.anchor_value is not None and row.anchor_value != row.anchor_value:
            row.anchor_value = None
    raw = {"times_s": times, "late_times_s": late_times, "children": children, "exact": exact,
           "num_weights": num_weights, "num_matrices": len(weights)}
    settings = {"command": common.command_line(), "layers": layers, "hidden": hidden, "repeats": repeats, "late_rounds": late_rounds,
                "quick": args.quick}
    common.report("pruning" + ("_quick" if args.quick else ""), "Target 2: global magnitude pruning step", rows, raw,
                  args.out, settings)
    return rows


if __name__ == "__main__":
    main()
