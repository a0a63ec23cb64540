#!/usr/bin/env python
"""Issues 15 and 25: do tickets run faster? CPU inference of dense models, masked, shrunk and torch.sparse tickets,
the TextCNN's inference path (fp32 and bf16), measured in several fresh processes.

For the TextCNN and LSTM presets and a MiniLM-sized encoder (all-MiniLM-L6-v2's shape: 6 layers, 384 wide, 12
heads, FFN 1536; random weights, which do not change the speed):

- dense: the model as trained; masked unstructured ticket (90% of the default scope zero), as hf_lth stores it;
- shrunk channel tickets with 25/50/75% of the units removed (`hf_lth.structure.shrink_model`). The encoder's heads
  are removed in memory (`remove_heads=True`); the loadable ticket (heads as zeros) is measured at 50% beside it;
- TextCNN only: `hf_lth.structure.fuse_for_inference` (channels-last, one convolution for all widths, max before
  bias and ReLU) of dense and of the shrunk tickets, in fp32 and bf16;
- torch.sparse CSR (encoder only): every encoder linear weight pruned to 80/90/95% and multiplied as CSR.

How it is measured (issue 25). The driver starts `--processes` fresh processes one after the other, each with the
same thread count (`--threads`, one by default), placement (`--pin`) and allocator settings (`--malloc fixed`:
glibc's mmap threshold fixed and trimming off, so that no forward faults its buffers in anew). Inside each,
every variant is warmed up the same fixed number of calls, then the variants are timed in turns (dense, ticket,
... alternating, `--turns`), each turn a fixed number of calls timed one by one: throughput at batch 64 from the
median call, batch-1 latency as the median and 90th percentile of single calls. A ratio is taken per turn against
dense of the same turn. A process's figure is the median of its turns; the reported figure is the median of the
process medians with their range (never the best run). Every call's time, and what each process ran on (threads and
the CPUs they ran on, context switches, page faults, oneDNN's kernels, load average), are kept in
`<out>/inference/<model>/process_<i>.json`; `<out>/inference/summary.md` is generated from them.

Each speed-up is beside its ideal: the ratio of multiply-adds (`torch.utils.flop_counter`; recurrent cells counted
from their shapes, CSR products as one per stored weight and token).

    bash scripts/quiet.sh python benchmarks/bench_inference.py --models cnn --turns 6 --turn-seconds 0.1  # ~2.5 min
    python benchmarks/bench_inference.py --quick                                      # tiny sizes, one process
    python benchmarks/bench_inference.py --bf16-accuracy RUN_DIR                      # bf16 vs fp32 on the sample
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_step_overhead as models  # noqa: E402  (the same model builders)
import common  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from hf_lth import TicketMask, prune, resolve_prune_scope  # noqa: E402
from hf_lth.structure import fuse_for_inference, get_granularity, shrink_model  # noqa: E402

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
              max_position_embeddings=512)
TOKENS = {"cnn": 256, "lstm": 256, "minilm": 128}  # the presets' sequence lengths (experiments/*.json)
BATCH = 64
UNIT_FRACTIONS = (0.25, 0.5, 0.75)
CSR_SPARSITIES = (0.8, 0.9, 0.95)
WARMUP_CALLS = 3  # per variant and batch size, before any timing
TARGETS = {  # issue 15 / 25: (model, variant) -> (anchor, least ratio, least measured / ideal)
    ("cnn", "shrunk50"): ("dense", 1.8, 0.9),
    ("cnn", "shrunk25-fast"): ("dense-fast", None, 0.9),
    ("cnn", "shrunk50-fast"): ("dense-fast", 1.8, 0.9),
    ("cnn", "shrunk75-fast"): ("dense-fast", None, 0.9),
    ("minilm", "shrunk50"): ("dense", 1.6, None),
}


# ----------------------------------------------------------------------------------------------------- the variants

def build(name: str, quick: bool) -> torch.nn.Module:
    if name == "minilm":
        torch.manual_seed(0)
        config = dict(MINILM, **(dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=64) if quick else {}))
        return BertForSequenceClassification(BertConfig(num_labels=2, **config)).eval()
    return models.build_model(name, 25_000 if not quick else 500, quick).eval()


class CSRLinear(torch.nn.Module):
    """A linear layer whose weight is a sparse CSR matrix: y = (W x^T)^T + b, by `torch.sparse.mm`."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.weight = linear.weight.detach().to_sparse_csr()
        self.bias = linear.bias.detach() if linear.bias is not None else None
        self.out_features = linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        y = torch.sparse.mm(self.weight, flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)


def magnitude_ticket(model: torch.nn.Module, sparsity: float) -> TicketMask:
    names = resolve_prune_scope(model)
    params = dict(model.named_parameters())
    mask = prune("global_magnitude", {n: params[n].detach() for n in names}, TicketMask.dense(model, names), sparsity)
    mask.apply_(model)
    return mask


def csr_model(dense: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    model = copy.deepcopy(dense)
    mask = magnitude_ticket(model, sparsity)
    for name in mask:
        parent_name, _, child = name.removesuffix(".weight").rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, CSRLinear(getattr(parent, child)))
    return model


def channel_model(dense: torch.nn.Module, fraction: float,
                  remove_heads: bool = True) -> tuple[torch.nn.Module, list[str]]:
    model = copy.deepcopy(dense)
    granularity = get_granularity("channel", model)
    names = granularity.prunable_names(model, resolve_prune_scope(model))
    params = dict(model.named_parameters())
    mask = granularity.prune("global_magnitude", {n: params[n].detach() for n in names},
                             TicketMask.dense(model, names), fraction)
    result = shrink_model(model, mask, remove_heads=remove_heads)
    notes = list(result.kept_as_zeros)
    if not result.loadable:
        notes.append("heads removed in memory (not loadable with from_pretrained)")
    return result.model, notes


def variants(name: str, dense: torch.nn.Module, wanted: set[str] | None) -> dict[str, dict[str, Any]]:
    """Short key -> {label, model, source (the key whose multiply-adds it does), note}: every variant of `name`.
    Builders run only for the keys in `wanted` (all when None) and those they derive from."""
    table: dict[str, Callable[[], tuple[torch.nn.Module, str]]] = {"dense": lambda: (dense, "")}
    labels = {"dense": "dense"}

    def masked():
        model = copy.deepcopy(dense)
        magnitude_ticket(model, 0.9)
        return model, ""

    table["masked90"], labels["masked90"] = masked, "masked unstructured ticket, 90% zero"
    shrunk: dict[float, tuple[torch.nn.Module, str]] = {}

    def shrink(fraction, remove_heads=True):
        def make():
            if (fraction, remove_heads) not in shrunk:
                model, notes = channel_model(dense, fraction, remove_heads)
                shrunk[fraction, remove_heads] = (model, "; ".join(notes))
            return shrunk[fraction, remove_heads]
        return make

    for fraction in UNIT_FRACTIONS:
        key = f"shrunk{fraction * 100:.0f}"
        table[key], labels[key] = shrink(fraction), f"shrunk channel ticket, {fraction:.0%} of units removed"
    if name == "minilm":
        table["shrunk50-loadable"] = shrink(0.5, remove_heads=False)
        labels["shrunk50-loadable"] = "shrunk channel ticket, 50% of units removed, heads as zeros (loadable)"
        for sparsity in CSR_SPARSITIES:
            key = f"csr{sparsity * 100:.0f}"
            table[key] = (lambda s: lambda: (csr_model(dense, s), ""))(sparsity)
            labels[key] = f"torch.sparse CSR, {sparsity:.0%} unstructured"
    if name == "cnn":
        for source in ["dense"] + [f"shrunk{f * 100:.0f}" for f in UNIT_FRACTIONS]:
            for dtype, prefix in ((torch.float32, ""), (torch.bfloat16, "bf16-")):
                key = f"{prefix}{source}-fast"
                table[key] = (lambda s, d: lambda: (fuse_for_inference(table[s]()[0], dtype=d), ""))(source, dtype)
                labels[key] = f"{labels[source]}, inference path{', bf16' if prefix else ''}"
            for fused in (True, False):  # a forced choice: runs only when asked for (--variants)
                key = f"{source}-fast-{'fused' if fused else 'split'}"
                table[key] = (lambda s, f: lambda: (fuse_for_inference(table[s]()[0], fuse_widths=f), ""))(
                    source, fused)
                labels[key] = f"{labels[source]}, inference path, {'one convolution' if fused else 'one per width'}"
    base = lambda key: re.sub(r"^bf16-|-fast(-split|-fused)?$", "", key)  # noqa: E731  (the model a variant is made of)
    if wanted:  # with what each is made of and compared with
        wanted = wanted | {"dense"} | {base(k) for k in wanted} | {like_for_like(k) for k in wanted}
    unknown = sorted(set(wanted or ()) - set(table))
    if unknown:
        raise SystemExit(f"unknown variants for {name}: {unknown}; choose from {sorted(table)}")
    out = {}
    for key, make in table.items():
        if key in wanted if wanted else (key == "dense" or not key.endswith(("-split", "-fused"))):
            model, note = make()
            out[key] = {"label": labels[key], "model": model, "source": base(key), "note": note}
    return out


@torch.inference_mode()
def multiply_adds(model: torch.nn.Module, ids: torch.Tensor) -> float:
    """Multiply-adds of one forward: FlopCounterMode's count / 2, plus the recurrent cells it does not see."""
    recurrent = 0.0
    for module in model.modules():
        if isinstance(module, torch.nn.RNNBase):
            gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
            directions = 2 if module.bidirectional else 1
            for layer in range(module.num_layers):
                inputs = module.input_size if layer == 0 else module.hidden_size * directions
                recurrent += directions * gates * module.hidden_size * (inputs + module.hidden_size) * ids.numel()
    # CSR products are invisible to the counter: each costs one multiply-add per stored weight and token.
    sparse = sum(m.weight.values().numel() * ids.numel() for m in model.modules() if isinstance(m, CSRLinear))
    with FlopCounterMode(display=False) as counter:
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return counter.get_total_flops() / 2 + recurrent + sparse


def like_for_like(key: str) -> str:
    """The anchor a variant is compared with on equal terms: dense on the same path and in the same precision (a bf16
    inference path against dense's bf16 inference path; dense's against dense's fp32 one; the rest against dense)."""
    if key.startswith("bf16-") and key != "bf16-dense-fast":
        return "bf16-dense-fast"
    if "-fast" in key and key != "dense-fast" and not key.startswith("bf16-"):
        return "dense-fast"
    return "dense"


# ------------------------------------------------------------------------------------------- one process's timings

def call_times(model: torch.nn.Module, ids: torch.Tensor, calls: int) -> tuple[list[float], int]:
    """Seconds of each of `calls` forward passes, timed one by one, and the minor page faults they caused."""
    mask = torch.ones_like(ids)
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with torch.inference_mode():
        for _ in range(calls):
            start = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            times.append(time.perf_counter() - start)
    return times, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def onednn_kernels(model: torch.nn.Module, ids: torch.Tensor) -> dict[str, int]:
    """The oneDNN primitives one forward executes ('kind:implementation' -> count), from its verbose output."""
    if not torch.backends.mkldnn.is_available():
        return {}
    with tempfile.TemporaryFile(mode="w+") as capture:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(capture.fileno(), 1)
        try:
            with torch.inference_mode(), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                model(input_ids=ids, attention_mask=torch.ones_like(ids))
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        kernels: dict[str, int] = {}
        for line in capture:
            parts = line.split(",")
            if len(parts) > 6 and parts[2] == "primitive" and parts[3] == "exec":
                key = f"{parts[5]}:{parts[6]}"
                kernels[key] = kernels.get(key, 0) + 1
        return kernels


def measure(name: str, quick: bool, turns: int, turn_seconds: float, wanted: set[str] | None) -> dict[str, Any]:
    """Every variant of model `name` in this process: multiply-adds, kernels, and the timings of every turn."""
    dense = build(name, quick)
    built = variants(name, dense, wanted)
    tokens = TOKENS[name] if not quick else 32
    vocab = dense.config.vocab_size
    batch = torch.randint(1, vocab, (BATCH if not quick else 8, tokens), generator=torch.Generator().manual_seed(0))
    single = batch[:1]
    macs = {key: multiply_adds(v["model"], single) for key, v in built.items() if v["source"] == key}
    calls: dict[str, dict[str, int]] = {}
    for key, v in built.items():  # fixed warm-up; then a fixed number of calls per turn, from the warm-up's time
        warm = {size: call_times(v["model"], ids, WARMUP_CALLS)[0] for size, ids in (("batch", batch), ("one", single))}
        calls[key] = {size: max(3 if size == "batch" else 10, round(turn_seconds / min(t))) for size, t in warm.items()}
    kernels = {key: onednn_kernels(v["model"], batch) for key, v in built.items()}
    timings: dict[str, dict[str, list]] = {key: {"batch": [], "one": [], "batch_page_faults": []} for key in built}
    for _ in range(turns):  # the variants in turn, so that a slow spell of the machine hits them alike
        for key, v in built.items():
            times, faults = call_times(v["model"], batch, calls[key]["batch"])
            timings[key]["batch"].append(times)
            timings[key]["batch_page_faults"].append(faults / len(times))
            timings[key]["one"].append(call_times(v["model"], single, calls[key]["one"])[0])
    return {
        "tokens": tokens, "batch_size": batch.shape[0],
        "variants": {key: {"label": v["label"], "source": v["source"], "note": v["note"]} for key, v in built.items()},
        "multiply_adds": macs, "calls_per_turn": calls, "onednn_kernels": kernels, "seconds_per_call": timings,
    }


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One process's measurements of every model, with what it ran on."""
    if args.threads and not args.quick:  # quick runs in the caller's process: leave its threads alone
        torch.set_num_threads(args.threads)
    before = common.process_facts()
    results = {name: measure(name, args.quick, args.turns, args.turn_seconds, args.wanted)
               for name in args.models.split(",")}
    return {"facts_at_start": before, "facts_at_end": common.process_facts(), "models": results}


# ------------------------------------------------------------------------------------------------ the driver

def child_env(threads: int | None, pin: str, malloc: str = "fixed") -> dict[str, str]:
    """The environment of a measuring process: thread count and placement fixed before torch starts its pool."""
    env = dict(os.environ)
    for name in ("OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY", "KMP_AFFINITY"):
        env.pop(name, None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    if malloc == "fixed":  # glibc: no dynamic mmap threshold, no trimming: freed blocks stay mapped between calls
        env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
    if pin == "cores":
        env["OMP_PROC_BIND"], env["OMP_PLACES"] = "close", "cores"
    return env


def run_processes(args: argparse.Namespace, argv: list[str]) -> list[dict[str, Any]]:
    """`args.processes` fresh processes of this script, one after the other; their raw results."""
    runs = []
    for index in range(args.processes):
        with tempfile.TemporaryDirectory() as tmp:
            raw_file = Path(tmp) / "raw.json"
            started = time.time()
            subprocess.run([sys.executable, __file__, *argv, "--child", str(raw_file)], check=True,
                           env=child_env(args.threads, args.pin, args.malloc))
            raw = json.loads(raw_file.read_text())
        raw["process"], raw["wall_seconds"] = index, round(time.time() - started, 1)
        print(f"process {index + 1}/{args.processes}: {raw['wall_seconds']} s", flush=True)
        runs.append(raw)
    return runs


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] if len(values) > 1 else values[0]


def summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant: each process's median over its turns, then the median of those and their range.

    Throughput is examples/s from a turn's median call; a ratio is taken per turn against the anchor of the same turn
    (dense, and dense's inference path for the inference paths); latency is the median and 90th percentile of the
    batch-1 calls of a turn."""
    first = runs[0]["models"][name]
    out: dict[str, Any] = {}
    for key, info in first["variants"].items():
        per_process: dict[str, list[float]] = {}
        for run in runs:
            model = run["models"][name]
            timing = model["seconds_per_call"]
            throughput = [model["batch_size"] / statistics.median(t) for t in timing[key]["batch"]]
            figures = {"examples_per_second": throughput,
                       "latency_ms_median": [1e3 * statistics.median(t) for t in timing[key]["one"]],
                       "latency_ms_p90": [1e3 * quantile(t, 0.9) for t in timing[key]["one"]]}
            for anchor in dict.fromkeys(("dense", like_for_like(key))):
                if anchor in timing and anchor != key:
                    base = [model["batch_size"] / statistics.median(t) for t in timing[anchor]["batch"]]
                    figures[f"ratio_to_{anchor}"] = [a / b for a, b in zip(throughput, base, strict=True)]
                    base1 = [statistics.median(t) for t in timing[anchor]["one"]]
                    figures[f"latency_ratio_to_{anchor}"] = [statistics.median(t) / b
                                                             for t, b in zip(timing[key]["one"], base1, strict=True)]
            for figure, turns in figures.items():
                per_process.setdefault(figure, []).append(statistics.median(turns))
        macs = first["multiply_adds"]
        ideal = macs["dense"] / macs[info["source"]]
        out[key] = {
            **info, "ideal": ideal,
            "figures": {figure: {"median": statistics.median(values), "min": min(values), "max": max(values),
                                 "per_process": values} for figure, values in per_process.items()},
        }
    return out


def markdown(summaries: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The generated summary: one table per model, medians of the process medians with their ranges."""
    def cell(figures, name, unit="", digits=2):
        f = figures.get(name)
        if not f:
            return ""
        fmt = f"{{:.{digits}f}}"
        return f"{fmt.format(f['median'])}{unit} ({fmt.format(f['min'])}–{fmt.format(f['max'])})"

    lines = []
    for name, summary in summaries.items():
        lines += [f"## {name}: medians of {meta['processes']} processes (range over processes)", "",
                  f"command: `{meta['command']}`", "",
                  f"machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores; torch "
                  f"{meta['machine']['torch']}; threads {meta['threads'] or 'default'}, pinning {meta['pin']}, "
                  "allocator "
                  f"{meta.get('malloc', 'glibc')}; "
                  f"{meta['turns']} turns per process; load average before each process: "
                  f"{', '.join(str(load) for load in meta['load_before'])}", "",
                  "| variant | examples/s, batch 64 | vs dense | like for like | ideal | like for like / ideal "
                  "| latency batch 1, median ms | p90 ms |", "|---|---|---|---|---|---|---|---|"]
        for key, row in summary.items():
            f = row["figures"]
            anchor = like_for_like(key)
            same = f.get(f"ratio_to_{anchor}")
            versus = f"{same['median'] / row['ideal']:.2f}" if same else ""
            lines.append(f"| {row['label']} | {cell(f, 'examples_per_second', digits=0)} | "
                         f"{cell(f, 'ratio_to_dense', 'x')} | "
                         f"{cell(f, f'ratio_to_{anchor}', 'x') + f' vs {anchor}' if same and anchor != 'dense' else ''}"
                         f" | {row['ideal']:.2f}x | {versus} | {cell(f, 'latency_ms_median')} | "
                         f"{cell(f, 'latency_ms_p90')} |")
        lines.append("")
    lines += ["Ratios are taken per turn against the anchor of the same turn. 'vs dense': against the dense model's "
              "training forward in fp32, what a user runs without hf_lth's inference path. 'like for like': against "
              "dense on the same path and in the same precision (dense-fast: dense's inference path in fp32; "
              "bf16-dense-fast: in bf16). 'ideal': dense's multiply-adds over the variant's.", ""]
    return "\n".join(lines)


def rows_of(name: str, summary: dict[str, Any], quick: bool, command: str = "") -> list[common.Row]:
    """The rows of `benchmarks/results/inference.txt` (run_all's summary): medians over processes, the ratios as the
    docs quote them (the median over processes of each process's median per-turn ratio)."""
    rows = []
    for key, row in summary.items():
        f = row["figures"]
        eps, lat = f["examples_per_second"], f["latency_ms_median"]
        anchor_key, least, least_ideal = TARGETS.get((name, key), (None, None, None))
        anchor_key = anchor_key or like_for_like(key)
        if anchor_key not in summary:
            anchor_key = "dense"
        ratio = f.get(f"ratio_to_{anchor_key}")
        note = ""
        met = None
        if ratio:
            note = (f"ratio {ratio['median']:.2f}x ({ratio['min']:.2f}-{ratio['max']:.2f} over processes); "
                    f"ideal {row['ideal']:.2f}x; measured / ideal {ratio['median'] / row['ideal']:.2f}")
            if not quick and (least or least_ideal):
                met = ((least is None or ratio["median"] >= least)
                       and (least_ideal is None or ratio["median"] / row["ideal"] >= least_ideal))
        if row["note"]:
            note += f"; {row['note']}"
        target = " and ".join(t for t in ((f">= {least}x" if least else ""),
                                          (f">= {least_ideal} of ideal" if least_ideal else "")) if t)
        anchor_eps = summary[anchor_key]["figures"]["examples_per_second"]["median"] if key != anchor_key else None
        rows.append(common.Row(figure=f"{name}: {row['label']}, batch 64", value=eps["median"], unit="examples/s",
                               anchor=anchor_key, anchor_value=anchor_eps, target=target, met=met, note=note,
                               extra={"ideal": row["ideal"], "range": [eps["min"], eps["max"]],
                                      "ratio": ratio},
                               paired_ratio=ratio["median"] if ratio else None, command=command))
        anchor_lat = summary[anchor_key]["figures"]["latency_ms_median"]["median"] if key != anchor_key else None
        latency_ratio = f.get(f"latency_ratio_to_{anchor_key}")
        rows.append(common.Row(figure=f"{name}: {row['label']}, batch 1 latency", value=lat["median"], unit="ms",
                               anchor=anchor_key, anchor_value=anchor_lat,
                               note=f"p90 {f['latency_ms_p90']['median']:.3f} ms",
                               extra={"range": [lat["min"], lat["max"]], "p90": f["latency_ms_p90"]},
                               paired_ratio=latency_ratio["median"] if latency_ratio else None, command=command))
    return rows


def write_results(args: argparse.Namespace, runs: list[dict[str, Any]], command: str) -> None:
    folder = args.out / ("inference_quick" if args.quick else "inference")
    quick = (torch.get_num_threads(), "none (quick: in this process)")
    threads, pin = quick if args.quick else (args.threads, args.pin)
    meta = {"command": command, "processes": len(runs), "threads": threads, "pin": pin, "turns": args.turns,
            "malloc": "in this process" if args.quick else args.malloc,
            "machine": common.machine(),
            "load_before": [r["facts_at_start"]["load_average"][0] for r in runs]}
    summaries = {}
    for name in args.models.split(","):
        summaries[name] = summarise(name, runs)
        (folder / name).mkdir(parents=True, exist_ok=True)
        for run in runs:
            raw = {k: v for k, v in run.items() if k != "models"}
            (folder / name / f"process_{run['process']}.json").write_text(
                json.dumps({**raw, "command": command, name: run["models"][name]}, indent=None) + "\n")
        (folder / name / "summary.json").write_text(
            json.dumps({"meta": meta, "summary": summaries[name]}, indent=1) + "\n")
    write_tables(folder, args.out, args.quick,
                 {"command": command, "processes": len(runs), "threads": args.threads, "pin": args.pin,
                  "turns": args.turns})


def write_tables(folder: Path, out: Path, quick: bool, settings: dict[str, Any]) -> None:
    """`folder/summary.md` and run_all's `inference.json` over every model's `summary.json` in `folder`, also those
    of earlier runs (each row keeps the command that measured it)."""
    every = {}
    for path in sorted(folder.glob("*/summary.json")):
        stored = json.loads(path.read_text())
        every[path.parent.name] = (stored["meta"], stored["summary"])
    text = "# Inference speed of tickets (CPU), generated by benchmarks/bench_inference.py\n\n" + "\n".join(
        markdown({name: summary}, meta) for name, (meta, summary) in every.items())
    (folder / "summary.md").write_text(text)
    print(text)
    rows = [row for name, (meta, summary) in every.items() for row in rows_of(name, summary, quick, meta["command"])]
    common.report("inference_quick" if quick else "inference", "Inference speed of tickets (CPU)", rows,
                  {"per_process_results": str(folder.relative_to(out))}, out, settings)


# -------------------------------------------------------------------------------------------- bf16 accuracy

def bf16_accuracy(run_dir: Path, out: Path) -> dict[str, Any]:
    """Test-sample accuracy of a trained TextCNN run's rounds (dense round 0 and its channel tickets, shrunk) in fp32
    and bf16, on the inference path, with the agreement of bf16's predictions with fp32's."""
    import pyarrow.parquet as pq
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import hf_lth.models  # noqa: F401  (registers TextCNN with the Auto classes)

    test = pq.read_table(common.SAMPLE_DATA / "imdb_test.parquet").to_pydict()
    settings_file = run_dir / "lth_experiment.json"
    settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    length = int(settings.get("max_seq_length", settings.get("data", {}).get("max_seq_length", 128)) or 128)
    labels = torch.tensor(test["label"])
    rows = {}
    for folder in sorted(run_dir.glob("round_*")):
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if (folder / "lth_mask.safetensors").is_file() and int(folder.name.split("_")[1]) > 0:
            model = shrink_model(model, TicketMask.load(folder / "lth_mask.safetensors")).model
        enc = tokenizer(test["text"], truncation=True, max_length=length, padding="max_length", return_tensors="pt")
        logits = {}
        for tag, m in (("fp32", model), ("fp32, inference path", fuse_for_inference(model)),
                       ("bf16, inference path", fuse_for_inference(model, dtype=torch.bfloat16))):
            with torch.inference_mode():
                logits[tag] = torch.cat([m(input_ids=i, attention_mask=a).logits.float() for i, a in
                                         zip(enc["input_ids"].split(256), enc["attention_mask"].split(256))])
        reference = logits["fp32"].argmax(-1)
        rows[folder.name] = {
            "filters": model.config.num_filters,
            **{f"accuracy {tag}": float((l.argmax(-1) == labels).float().mean()) for tag, l in logits.items()},
            **{f"agreement with fp32, {tag}": float((l.argmax(-1) == reference).float().mean())
               for tag, l in logits.items() if tag != "fp32"},
            **{f"max |logit - fp32|, {tag}": float((l - logits["fp32"]).abs().max())
               for tag, l in logits.items() if tag != "fp32"},
        }
    result = {"run": str(run_dir), "test_file": "hf_lth/sample_data/imdb_test.parquet", "examples": len(labels),
              "max_seq_length": length, "rounds": rows}
    folder = out / "inference"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bf16_accuracy.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# bf16 against fp32: the shipped IMDb test sample ({len(labels)} reviews, {length} tokens)", "",
             f"run: `{run_dir}`; command: `{common.command_line()}`", "",
             "| round | filters per width | accuracy fp32 | fp32, inference path | bf16, inference path | bf16 agrees "
             "with fp32 | max abs logit difference, bf16 |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['filters']} | {100 * r['accuracy fp32']:.2f}% | "
                     f"{100 * r['accuracy fp32, inference path']:.2f}% | "
                     f"{100 * r['accuracy bf16, inference path']:.2f}% "
                     f"| {100 * r['agreement with fp32, bf16, inference path']:.1f}% | "
                     f"{r['max |logit - fp32|, bf16, inference path']:.3g} |")
    (folder / "bf16_accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one process, one short turn (smoke test)")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--models", default="cnn,lstm,minilm", help="comma-separated: cnn, lstm, minilm")
    parser.add_argument("--variants", default="", help="comma-separated variant keys (default: all); dense always runs")
    parser.add_argument("--processes", type=int, default=5, help="fresh processes, one after the other")
    parser.add_argument("--turns", type=int, default=5, help="turns per process (the variants alternate in each)")
    parser.add_argument("--turn-seconds", type=float, default=0.25, help="about how long one variant runs per turn")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (OMP_NUM_THREADS); 0: torch's default (one per core). One by default: "
                             "on a shared machine two threads wait for each other at every parallel region "
                             "(docs/performance.md)")
    parser.add_argument("--pin", choices=("cores", "none"), default="none",
                        help="cores: OMP_PROC_BIND=close, OMP_PLACES=cores (thread i on core i; with one thread that "
                             "ties the process to CPU 0 even when CPU 0 is busy); none: the OS places the threads")
    parser.add_argument("--malloc", choices=("fixed", "glibc"), default="fixed",
                        help="fixed: GLIBC_TUNABLES with a fixed mmap threshold (32 MiB) and no trimming, so that a "
                             "forward does not fault its buffers in anew; glibc: its defaults (dynamic threshold)")
    parser.add_argument("--bf16-accuracy", type=Path, default=None, metavar="RUN_DIR",
                        help="instead of timing: accuracy of a trained TextCNN run's rounds in bf16 against fp32")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bf16_accuracy:
        bf16_accuracy(args.bf16_accuracy, args.out)
        return
    args.wanted = {v for v in args.variants.split(",") if v} or None
    if args.quick:
        args.processes, args.turns, args.turn_seconds = 1, 1, 0.01
    if args.processes < 1 or args.turns < 1:
        parser.error(f"--processes and --turns must be at least 1, got {args.processes} and {args.turns}")
    if args.child:
        args.child.write_text(json.dumps(child(args)))
        return
    command = "python benchmarks/bench_inference.py " + " ".join(a for a in argv if not a.startswith("--out")
                                                                  and not str(args.out) == a)
    if args.quick:  # in this process: the smoke test stays fast
        run = child(args)
        run["process"], run["wall_seconds"] = 0, None
        runs = [run]
    else:
        runs = run_processes(args, [a for a in argv])
    write_results(args, runs, command.strip())


if __name__ == "__main__":
    main()
