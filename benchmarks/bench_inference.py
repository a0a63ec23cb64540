#!/usr/bin/env python
"""Issue 15: do tickets run faster? CPU inference of dense models, masked, shrunk and torch.sparse tickets.

For the TextCNN and LSTM presets and a MiniLM-sized encoder (all-MiniLM-L6-v2's shape: 6 layers, 384 wide, 12
heads, FFN 1536; random weights, which do not change the speed), side by side in one process:

- dense: the model as trained;
- masked unstructured ticket (90% of the default scope zero): the ticket as hf_lth stores it;
- shrunk channel tickets with 25/50/75% of the units removed (`--lth_granularity channel`, then
  `hf_lth.structure.shrink_model`): fewer filters / hidden units / heads and FFN neurons. The encoder's heads are
  removed in memory (`remove_heads=True`: no transformers configuration expresses fewer heads of the same size);
  the ticket as `from_pretrained` loads it, heads as zeros and FFN shrunk, is measured at 50% beside it;
- torch.sparse CSR (encoder only): every encoder linear weight pruned unstructured to 80/90/95% and multiplied as a
  CSR matrix (`torch.sparse.mm`). TextCNN's convolutions and the LSTM's fused kernel have no CSR path in torch.

Throughput is examples/s at batch 64, latency the time of one example (batch 1), both from
`torch.utils.benchmark` (median of blocked runs), the variants measured in turn, five times (`--turns`), medians
kept; the note gives the spread of the per-turn ratios. Each
speed-up is beside its ideal: the ratio of multiply-adds (`torch.utils.flop_counter`; recurrent cells counted
from their shapes, CSR products as one per stored weight and token).

    python benchmarks/bench_inference.py           # about 8 minutes on 2 cores
    python benchmarks/bench_inference.py --quick   # tiny sizes, seconds
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_step_overhead as models  # noqa: E402  (the same model builders)
import common  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from hf_lth import TicketMask, prune, resolve_prune_scope  # noqa: E402
from hf_lth.structure import examples_per_second, get_granularity, shrink_model  # noqa: E402

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
              max_position_embeddings=512)
TOKENS = {"cnn": 256, "lstm": 256, "minilm": 128}  # the presets' sequence lengths (experiments/*.json)
UNIT_FRACTIONS = (0.25, 0.5, 0.75)
CSR_SPARSITIES = (0.8, 0.9, 0.95)
TARGETS = {("cnn", 0.5): 1.8, ("minilm", 0.5): 1.6}  # issue 15: speed-up at batch 64 with half the units removed


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


def channel_model(dense: torch.nn.Module, fraction: float, remove_heads: bool = True) -> tuple[torch.nn.Module, list[str]]:
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--models", default="cnn,lstm,minilm", help="comma-separated: cnn, lstm, minilm")
    parser.add_argument("--turns", type=int, default=5, help="times each variant is measured, in turn")
    args = parser.parse_args(argv)
    rounds, run_time = (1, 0.05) if args.quick else (args.turns, 1.0)
    rows, raw = [], {}
    for name in args.models.split(","):
        dense = build(name, args.quick)
        tokens = TOKENS[name] if not args.quick else 32
        variants: dict[str, torch.nn.Module] = {"dense": dense}
        masked = copy.deepcopy(dense)
        magnitude_ticket(masked, 0.9)
        variants["masked unstructured ticket, 90% zero"] = masked
        notes = {}
        for fraction in UNIT_FRACTIONS:
            model, zeros = channel_model(dense, fraction)
            label = f"shrunk channel ticket, {fraction:.0%} of units removed"
            variants[label] = model
            notes[label] = "; ".join(zeros)
        if name == "minilm":
            label = "shrunk channel ticket, 50% of units removed, heads as zeros (loadable)"
            variants[label], zeros = channel_model(dense, 0.5, remove_heads=False)
            notes[label] = "; ".join(zeros)
            for sparsity in CSR_SPARSITIES:
                variants[f"torch.sparse CSR, {sparsity:.0%} unstructured"] = csr_model(dense, sparsity)
        vocab = dense.config.vocab_size
        batch64 = torch.randint(1, vocab, (64 if not args.quick else 8, tokens), generator=torch.Generator().manual_seed(0))
        batch1 = batch64[:1]
        macs = {label: multiply_adds(model, batch1) for label, model in variants.items()}
        for model in variants.values():  # warm-up: first-call allocations and kernel choices stay out of the timings
            examples_per_second(model, batch64, 0.0)
        speed = {label: {"batch64": [], "batch1": []} for label in variants}
        for _ in range(rounds):  # the variants in turn, so that a slow spell of the machine hits them alike
            for label, model in variants.items():
                speed[label]["batch64"].append(examples_per_second(model, batch64, run_time))
                speed[label]["batch1"].append(examples_per_second(model, batch1, run_time))
        raw[name] = {"tokens": tokens, "multiply_adds": macs, "examples_per_second": speed}
        base64 = statistics.median(speed["dense"]["batch64"])
        base1 = 1e3 / statistics.median(speed["dense"]["batch1"])
        for label in variants:
            eps = statistics.median(speed[label]["batch64"])
            latency = 1e3 / statistics.median(speed[label]["batch1"])
            ideal = macs["dense"] / macs[label]
            fraction = next((f for f in UNIT_FRACTIONS if label.endswith(f"{f:.0%} of units removed")), None)
            target = TARGETS.get((name, fraction))
            turns = [v / d for v, d in zip(speed[label]["batch64"], speed["dense"]["batch64"])]
            note = (f"ideal (multiply-add ratio) {ideal:.2f}x; measured / ideal {eps / base64 / ideal:.2f}; "
                    f"ratio per turn {min(turns):.2f}-{max(turns):.2f}x")
            if notes.get(label):
                note += f"; {notes[label]}"
            rows.append(common.Row(
                figure=f"{name}: {label}, batch 64", value=eps, unit="examples/s", anchor="dense",
                anchor_value=None if label == "dense" else base64,
                target=f">= {target}x" if target else "", met=None if not target or args.quick else eps / base64 >= target,
                note=note if label != "dense" else "", extra={"ideal": ideal}))
            rows.append(common.Row(
                figure=f"{name}: {label}, batch 1 latency", value=latency, unit="ms", anchor="dense",
                anchor_value=None if label == "dense" else base1, extra={"ideal": 1 / ideal}))
    command = "python benchmarks/bench_inference.py" + (" --quick" if args.quick else "")
    if args.models != "cnn,lstm,minilm" or args.turns != 5:
        command += f" --models {args.models} --turns {args.turns}"
    common.report("inference_quick" if args.quick else "inference", "Inference speed of tickets (CPU)", rows, raw,
                  args.out, {"command": command, "threads": torch.get_num_threads(), "turns": rounds})


if __name__ == "__main__":
    main()
