#!/usr/bin/env python
"""Run a tiny LTH experiment on an XLA device and check the TPU code path (run it through scripts/test_xla.sh).

With `PJRT_DEVICE=CPU`, torch-xla gives a real XLA device on this CPU: the same lazy tensors, graph tracing,
compilation cache and device transfers as on a TPU. The script trains a tiny TextCNN (or, with `--model lstm`, a
tiny bidirectional LSTM on texts of different lengths) for a dense round and one pruned round (`max_steps` = 2N,
static shapes: fixed-length inputs and `dataloader_drop_last`) and checks:

1. the model's parameters and the masks that `TicketMaskCallback` multiplies into them after every optimizer
   step live on the XLA device (moved there once per round);
2. the per-step path makes no host synchronisation: between step N and step 2N of a round there is no
   device-to-host transfer (`TransferFromDeviceTime`) and no `.item()` (`xla::_local_scalar_dense`);
3. the number of graph compilations (`CompileTime`) does not grow with the number of steps: the count after
   step 2N equals the count after step N (warm-up compilations happen in the first steps only);
4. the tickets are right: pruned weights exactly zero on the device, sparsity 20 % in round 1.

It prints the counts and torch-xla's short metrics report, and exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="N: metrics are compared after N and 2N steps.")
    parser.add_argument("--output_dir", default=None, help="Where the experiment goes (default: a temp folder).")
    parser.add_argument("--model", choices=("cnn", "lstm"), default="cnn",
                        help="A tiny TextCNN, or a tiny bidirectional TextRNN LSTM fed texts of different lengths.")
    cli = parser.parse_args()

    os.environ.setdefault("PJRT_DEVICE", "CPU")
    import torch_xla
    import torch_xla.debug.metrics as met
    from datasets import Dataset
    from transformers import TrainerCallback
    from transformers.utils import is_torch_xla_available

    from hf_lth import (LTHArguments, LTHTrainer, TextCNNConfig, TextCNNForSequenceClassification, TextRNNConfig,
                        TextRNNForSequenceClassification, compute_metrics)

    if not is_torch_xla_available():
        print("FAIL: transformers does not see torch-xla", file=sys.stderr)
        return 1
    print(f"torch {torch.__version__}, torch_xla {torch_xla.__version__}, PJRT_DEVICE={os.environ['PJRT_DEVICE']}")

    def compile_count() -> int:
        data = met.metric_data("CompileTime")
        return int(data[0]) if data else 0

    def transfers_from_device() -> int:
        data = met.metric_data("TransferFromDeviceTime")
        return int(data[0]) if data else 0

    def item_calls() -> int:  # `.item()` / `float(tensor)` on a device tensor: a host synchronisation
        return sum(int(met.counter_value(f"{ns}::_local_scalar_dense") or 0) for ns in ("aten", "xla"))

    class Probe(TrainerCallback):
        """Snapshots torch-xla's counters after every optimizer step, per round, and checks devices once."""

        def __init__(self):
            self.rounds: list[dict[int, dict[str, int]]] = []
            self.devices: list[dict[str, object]] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.rounds.append({})

        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.rounds[-1][state.global_step] = {
                "compilations": compile_count(),
                "transfers_from_device": transfers_from_device(),
                "item_calls": item_calls(),
            }
            if state.global_step == 1:
                bound = trainer._mask_callback._bound  # (parameter, mask on the parameter's device) pairs
                self.devices.append({
                    "parameters": sorted({str(p.device) for p in model.parameters()}),
                    "masks": sorted({str(m.device) for _, m in bound}),
                    "bound": len(bound),
                })

    seq_len, rows = 32, 256
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 200, (rows, seq_len), generator=g)
    labels = (ids[:, :4].float().mean(dim=1) > 100).long()
    if cli.model == "lstm":  # right-padded texts of 8 to 32 tokens: the shapes stay static, the lengths do not
        lengths = torch.randint(8, seq_len + 1, (rows,), generator=g)
        attention_mask = (torch.arange(seq_len)[None, :] < lengths[:, None]).long()
        ids = ids * attention_mask
    else:
        attention_mask = torch.ones_like(ids)
    data = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": attention_mask.tolist(),
                              "labels": labels.tolist()})
    train, evaluation = data.select(range(192)), data.select(range(192, 256))

    torch.manual_seed(0)
    if cli.model == "lstm":
        model = TextRNNForSequenceClassification(TextRNNConfig(
            vocab_size=200, embedding_dim=16, hidden_size=8, num_layers=1, bidirectional=True, dropout=0.0,
            cell="lstm", num_labels=2, pad_token_id=0))
    else:
        model = TextCNNForSequenceClassification(TextCNNConfig(
            vocab_size=200, embedding_dim=16, num_filters=8, filter_sizes=[2, 3], dropout=0.0, num_labels=2,
            pad_token_id=0))

    n = cli.steps
    out = cli.output_dir or tempfile.mkdtemp(prefix="hf_lth_xla_")
    args = LTHArguments(
        output_dir=out, overwrite_output_dir=True, lth_rounds=1, lth_prune_rate=0.2, max_steps=2 * n,
        per_device_train_batch_size=8, per_device_eval_batch_size=32, dataloader_drop_last=True,
        logging_steps=10 * n, save_strategy="no", eval_strategy="no", report_to=[], disable_tqdm=True,
        seed=0, dataloader_pin_memory=False,
        # Trainer's default optimizer with torch >= 2.8 is adamw_torch_fused, whose fused kernel refuses XLA
        # tensors ("fused=True requires ... supported devices"): on a TPU pass --optim adamw_torch.
        optim="adamw_torch",
    )
    probe = Probe()
    trainer = LTHTrainer(model=model, args=args, train_dataset=train, eval_dataset=evaluation,
                         compute_metrics=compute_metrics, callbacks=[probe])
    print(f"accelerate distributed type: {trainer.accelerator.distributed_type}, device: {args.device}")
    results = trainer.find_tickets()

    failures = []
    if args.device.type != "xla":
        failures.append(f"Trainer's device is {args.device}, not an XLA device")
    for index, devices in enumerate(probe.devices):
        # TicketMaskCallback binds only the tensors its mask prunes (a dense round 0 multiplies nothing)
        print(f"round {index}: parameters on {devices['parameters']}, {devices['bound']} masks applied per step, "
              f"on {devices['masks']}")
        if any(not d.startswith("xla") for d in devices["parameters"] + devices["masks"]):
            failures.append(f"round {index}: parameters or masks off the XLA device: {devices}")
        if index > 0 and devices["bound"] == 0:
            failures.append(f"round {index}: no mask is applied per step")
    for index, steps in enumerate(probe.rounds):
        at_n, at_2n = steps[n], steps[2 * n]
        print(f"round {index}: after step {n}: {at_n}; after step {2 * n}: {at_2n}")
        if at_2n["compilations"] != at_n["compilations"]:
            failures.append(f"round {index}: compilations grew from {at_n['compilations']} to "
                            f"{at_2n['compilations']} between steps {n} and {2 * n}")
        for key in ("transfers_from_device", "item_calls"):
            if at_2n[key] != at_n[key]:
                failures.append(f"round {index}: {key} grew from {at_n[key]} to {at_2n[key]} between steps "
                                f"{n} and {2 * n} (a host synchronisation on the per-step path)")
        growth = [steps[s]["compilations"] for s in sorted(steps)]
        print(f"round {index}: compilations after each step: {growth}")

    # The tickets: pruned weights exactly zero on the device, exact sparsity.
    params = dict(trainer.model.named_parameters())
    nonzero_pruned = {name: int(torch.count_nonzero(params[name].detach().cpu()[~mask]))
                      for name, mask in trainer.mask.items()}
    print(f"pruned weights that are not zero on the device after round 1: {sum(nonzero_pruned.values())}")
    if any(nonzero_pruned.values()):
        failures.append(f"pruned weights not zero: {nonzero_pruned}")
    sparsities = [r["sparsity"] for r in results["rounds"]]
    print(f"sparsity per round: {sparsities}; eval accuracy per round: "
          f"{[round(r.get('eval_accuracy', float('nan')), 4) for r in results['rounds']]}")
    if abs(sparsities[1] - 0.2) > 1e-3:
        failures.append(f"round 1 sparsity {sparsities[1]} is not 0.2")
    print(f"results: {os.path.join(out, 'lth_results.json')}")
    print("torch_xla short metrics report:")
    print(met.short_metrics_report())
    compilations = {i: [s[n]["compilations"], s[2 * n]["compilations"]] for i, s in enumerate(probe.rounds)}
    summary = {"compilations": compilations,
               "devices": probe.devices, "failures": failures}
    print("summary:", json.dumps(summary))
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    print(f"OK: masks on the XLA device, no host sync between steps {n} and {2 * n}, "
          "compilations constant in the number of steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
