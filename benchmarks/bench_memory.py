#!/usr/bin/env python
"""Target 3: memory. Masks at one byte per prunable weight, the rewind point off the accelerator, and the peak
resident memory of a BERT-base-sized LTHTrainer round over a plain Trainer run.

Each configuration runs in a fresh subprocess (same model, data and seed; `--steps` optimizer steps a round):

- `plain`: `Trainer.train()`, `evaluate()`, `save_model()`;
- `lth`: `LTHTrainer.find_tickets()` with one pruning round: round 0 (dense, rewind point saved), then global
  magnitude pruning of 20%, rewinding, round 1; every round evaluated and saved as a ticket folder.

Peak resident memory is the process's VmHWM at the end. A sampler thread also records the RSS every 10 ms
with the phase the run was in (train, prune, rewind, save, ...), which tells where an LTH peak comes from.
The plain and lth children alternate `--repeats` times; medians are compared.

    python benchmarks/bench_memory.py            # BERT-base, random init (a few minutes on 2 cores)
    python benchmarks/bench_memory.py --quick    # a tiny BERT, seconds
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

PHASE = ["start"]


class RssSampler(threading.Thread):
    """Samples VmRSS every `interval` seconds; keeps the peak per phase."""

    def __init__(self, interval: float = 0.01):
        super().__init__(daemon=True)
        self.interval, self.peaks, self.stopped = interval, {}, False

    def run(self):
        while not self.stopped:
            rss = common.proc_status_kib("VmRSS")
            phase = PHASE[0]
            self.peaks[phase] = max(self.peaks.get(phase, 0), rss)
            time.sleep(self.interval)


def phased(owner, attr: str, phase: str) -> None:
    """Wrap `owner.attr` so that the sampler books the memory used inside it under `phase`."""
    original = getattr(owner, attr)  # a renamed attribute must fail here, not go unmeasured

    def wrapper(*args, **kwargs):
        outer, PHASE[0] = PHASE[0], phase
        try:
            return original(*args, **kwargs)
        finally:
            PHASE[0] = outer

    setattr(owner, attr, wrapper)


def child(config: str, quick: bool, steps: int, workdir: str) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments, default_data_collator
    from transformers.utils import logging as hf_logging

    import hf_lth.engine.trainer as lth_trainer_module
    from hf_lth import LTHArguments, LTHTrainer
    from hf_lth.engine.callbacks import RewindPointCallback, TicketMaskCallback
    from hf_lth.storage.folder import ExperimentFolder
    from hf_lth.structure import Unstructured

    hf_logging.set_verbosity_error()
    sampler = RssSampler()
    sampler.start()
    torch.manual_seed(0)
    kwargs = {} if not quick else dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    model = BertForSequenceClassification(BertConfig(num_labels=2, **kwargs))
    batch, seq = (4, 128) if not quick else (2, 16)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_step_overhead as steps_bench

    setup = steps_bench.Setup("bert-base", batch, seq, model.config.vocab_size, 5e-5, steps, 1)
    train = steps_bench.synthetic_data(setup, batch * steps)
    evaluation = steps_bench.synthetic_data(setup, batch * 2)
    common_args = dict(output_dir=workdir, per_device_train_batch_size=batch, per_device_eval_batch_size=batch,
                       max_steps=steps, learning_rate=5e-5, seed=42, use_cpu=True, report_to="none",
                       save_strategy="no", eval_strategy="no", logging_strategy="no", disable_tqdm=True)
    PHASE[0] = "model built"
    common.reset_peak_rss()
    baseline = common.proc_status_kib("VmRSS")
    result: dict = {"config": config}
    for name, phase in (("train", "train"), ("evaluate", "evaluate")):
        phased(Trainer, name, phase)
    if config == "plain":
        trainer = Trainer(model=model, args=TrainingArguments(**common_args), train_dataset=train,
                          eval_dataset=evaluation, data_collator=default_data_collator)
        trainer.train()
        trainer.evaluate()
        PHASE[0] = "save"
        trainer.save_model(str(Path(workdir) / "plain_model"))
    else:
        phased(RewindPointCallback, "capture", "save rewind point")
        phased(ExperimentFolder, "read_rewind_point", "rewind (read weights)")
        phased(lth_trainer_module, "load_state_in_place", "rewind (load weights)")
        phased(ExperimentFolder, "write_round", "save ticket")
        phased(LTHTrainer, "_enter", "set mask")
        phased(Unstructured, "prune", "prune")
        trainer = LTHTrainer(model=model, args=LTHArguments(**common_args, lth_rounds=1, lth_evaluate_test=False),
                             train_dataset=train, eval_dataset=evaluation, data_collator=default_data_collator)
        trainer.find_tickets()
        mask = trainer.mask
        bound = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, TicketMaskCallback))._bound
        mask_ptrs = {m.data_ptr() for m in mask.values()}
        rewind = trainer.folder.rewind_path(0)
        result.update(
            mask_bytes=sum(m.numel() * m.element_size() for m in mask.values()),
            mask_dtypes=sorted({str(m.dtype) for m in mask.values()}),
            num_prunable=mask.num_prunable(),
            sparsity=mask.sparsity(),
            bound_masks_share_memory=all(m.data_ptr() in mask_ptrs for _, m in bound),
            bound_mask_devices=sorted({str(m.device) for _, m in bound}),
            rewind_point_file_bytes=rewind.stat().st_size if rewind.is_file() else None,
            model_device=str(next(model.parameters()).device),
        )
    PHASE[0] = "end"
    time.sleep(0.05)
    sampler.stopped = True
    result.update(
        peak_kib=common.proc_status_kib("VmHWM"),
        baseline_kib=baseline,
        phase_peaks_kib=sampler.peaks,
        parameters=sum(p.numel() for p in model.parameters()),
        parameter_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
    )
    print(json.dumps(result), flush=True)


def run_child(config: str, quick: bool, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [sys.executable, __file__, "--child", config, "--steps", str(steps), "--workdir", workdir]
        if quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=common.REPO_ROOT)
        if out.returncode != 0:
            raise RuntimeError(f"{config} child failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps a round")
    parser.add_argument("--child", choices=("plain", "lth"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps = args.steps or (2 if args.quick else 3)
    if args.child:
        child(args.child, args.quick, steps, args.workdir)
        return []
    repeats = args.repeats or (1 if args.quick else 2)
    runs = {"plain": [], "lth": []}
    for rep in range(repeats):
        for config in (("plain", "lth") if rep % 2 == 0 else ("lth", "plain")):
            runs[config].append(run_child(config, args.quick, steps))
    peak = {c: common.median(r["peak_kib"] for r in v) * 1024 for c, v in runs.items()}
    base = {c: common.median(r["baseline_kib"] for r in v) * 1024 for c, v in runs.items()}
    lth = runs["lth"][-1]
    gib = 2**30
    rows = [
        common.Row(f"LTHTrainer round peak RSS (BERT{'-base' if not args.quick else ' tiny'}, "
                   f"{lth['parameters'] / 1e6:.1f}M params, round 0 + 1 pruned round, {steps} steps each)",
                   peak["lth"] / gib, "GiB", "plain Trainer run (train, evaluate, save)", peak["plain"] / gib,
                   "<= 1.3x", peak["lth"] <= 1.3 * peak["plain"] if not args.quick else None,
                   note=(f"above the process after model building: lth +{(peak['lth'] - base['lth']) / gib:.2f} GiB, "
                         f"plain +{(peak['plain'] - base['plain']) / gib:.2f} GiB; lth peaks by phase (GiB): "
                         + ", ".join(f"{k} {v / 2**20:.2f}" for k, v in lth["phase_peaks_kib"].items()))),
        common.Row("TicketMask in memory, bytes per prunable weight", lth["mask_bytes"] / lth["num_prunable"], "B",
                   target="1 B", met=lth["mask_bytes"] == lth["num_prunable"],
                   note=(f"dtypes {lth['mask_dtypes']}; the per-step (uint8) masks share the mask's memory: "
                         f"{lth['bound_masks_share_memory']}, on {lth['bound_mask_devices']}")),
        common.Row("rewind point held in memory during training", 0.0, "B", target="off the accelerator",
                   met=lth["rewind_point_file_bytes"] is not None,
                   note=(f"kept on disk as rewind_points/step_000000.safetensors ({lth['rewind_point_file_bytes'] / 2**20:.0f} MiB), "
                         "written from CPU copies and read back with safetensors onto the CPU at each rewind, then "
                         f"copied into the model in place (model on {lth['model_device']})")),
    ]
    settings = {"command": common.command_line(), "steps": steps, "repeats": repeats, "quick": args.quick}
    common.report("memory" + ("_quick" if args.quick else ""), "Target 3: memory", rows, runs, args.out, settings)
    return rows


if __name__ == "__main__":
    main()
