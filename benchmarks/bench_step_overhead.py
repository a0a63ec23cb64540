#!/usr/bin/env python
"""Target 1: an LTHTrainer optimizer step at 80% sparsity over a plain Trainer step, same model, data and seed.

For each model (the seed-sized CNN preset with a 25,000-word vocabulary, the LSTM preset, a tiny BERT and a
random-init BERT-base), four configurations train the same initial weights on the same batches:

- `plain`: `transformers.Trainer`;
- `lth`: `hf_lth.LTHTrainer` with an 80%-sparse global-magnitude mask (`trainer.train()`: the per-step path of
  every round; gradient hooks zero the pruned weights' gradients in the backward pass, and the mask is
  multiplied into the weights after each optimizer step);
- `torch_prune`: `Trainer` on the same model after `torch.nn.utils.prune.custom_from_mask` on the same weights
  (the `weight_orig * weight_mask` re-parametrisation BERT-Tickets uses);
- `plain_again`: a second plain `Trainer`, an A/A control whose ratio to `plain` is the noise floor.

Each step is timed by a callback from `on_step_begin` to `on_step_end` (forward, backward, clipping, optimizer,
mask, scheduler, zero_grad; `time.perf_counter`). The first `--warmup` steps of every run are dropped, and one
untimed plain run precedes the timed ones (the first steps of a process are several times slower). The
configurations alternate in rounds (their order rotates each round) and the medians of all kept steps are
compared. The masking itself (gradient hooks + weight multiplication) is also timed inside the step, which
isolates the overhead from the machine's noise.

    python benchmarks/bench_step_overhead.py                 # all four models (about 15 minutes on 2 cores)
    python benchmarks/bench_step_overhead.py --models cnn    # one model
    python benchmarks/bench_step_overhead.py --quick         # tiny sizes, seconds
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    PrinterCallback,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from hf_lth import LTHArguments, LTHTrainer, TicketMask, prune, resolve_prune_scope  # noqa: E402
from hf_lth.engine import callbacks as callbacks_module  # noqa: E402
from hf_lth.engine.callbacks import TicketMaskCallback  # noqa: E402
from hf_lth.loading.models import MODEL_PRESETS  # noqa: E402
from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification, TextRNNConfig, TextRNNForSequenceClassification  # noqa: E402

CONFIGS = ("plain", "lth", "torch_prune", "plain_again")  # plain_again: an A/A control of the method


@dataclass
class Setup:
    name: str
    batch_size: int
    seq_len: int
    vocab_size: int
    learning_rate: float
    measured_steps: int
    rounds: int


FULL = {
    "cnn": Setup("cnn", 32, 256, 25000, 1e-3, 10, 10),
    "lstm": Setup("lstm", 32, 128, 25000, 1e-3, 5, 5),
    "bert-tiny": Setup("bert-tiny", 32, 128, 8000, 1e-3, 10, 10),
    "bert-base": Setup("bert-base", 4, 128, 30522, 5e-5, 3, 3),
}
QUICK = {
    "cnn": Setup("cnn", 4, 32, 500, 1e-3, 2, 1),
    "lstm": Setup("lstm", 4, 16, 500, 1e-3, 2, 1),
    "bert-tiny": Setup("bert-tiny", 4, 16, 500, 1e-3, 2, 1),
    "bert-base": Setup("bert-base", 2, 16, 500, 5e-5, 2, 1),
}


def build_model(name: str, vocab_size: int, quick: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "cnn":
        kwargs = dict(MODEL_PRESETS["cnn"].config_kwargs)
        if quick:
            kwargs.update(embedding_dim=16, num_filters=8)
        return TextCNNForSequenceClassification(TextCNNConfig(vocab_size=vocab_size, num_labels=2, **kwargs))
    if name == "lstm":
        kwargs = dict(MODEL_PRESETS["lstm"].config_kwargs)
        if quick:
            kwargs.update(embedding_dim=16, hidden_size=16)
        return TextRNNForSequenceClassification(TextRNNConfig(vocab_size=vocab_size, num_labels=2, **kwargs))
    if name == "bert-tiny":
        kwargs = dict(MODEL_PRESETS["bert-tiny"].config_kwargs)
        if quick:
            kwargs.update(hidden_size=32, intermediate_size=64)
        return BertForSequenceClassification(BertConfig(vocab_size=vocab_size, num_labels=2, **kwargs))
    if name == "bert-base":
        kwargs = {} if not quick else dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
        return BertForSequenceClassification(BertConfig(vocab_size=vocab_size, num_labels=2, **kwargs))
    raise ValueError(name)


def synthetic_data(setup: Setup, rows: int) -> Dataset:
    """Fixed-length random token ids (every step costs the same) and random labels, seeded."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, setup.vocab_size, (rows, setup.seq_len), generator=g)
    labels = torch.randint(0, 2, (rows,), generator=g)
    ds = Dataset.from_dict({
        "input_ids": ids.tolist(),
        "attention_mask": torch.ones_like(ids).tolist(),
        "labels": labels.tolist(),
    })
    return ds.with_format("torch")


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step, from on_step_begin to on_step_end.

    With a `Turnstile`, several trainers, each in its own thread, take their steps one at a time in rotation: a
    trainer holds the turn from the start of its step through the work between steps (logging, the next batch) and
    passes it on at the start of its next step, then waits for its turn again (the wait is not timed). So nothing
    of another configuration runs while a step is timed.
    """

    def __init__(self, turnstile: Turnstile | None = None, seat: int = 0):
        self.times: list[float] = []
        self._start = 0.0
        self._holding = False
        self.turnstile, self.seat = turnstile, seat

    def on_step_begin(self, args, state, control, **kwargs):
        if self.turnstile is not None:
            if self._holding:
                self.turnstile.pass_on(self.seat)
            self.turnstile.wait(self.seat)
            self._holding = True
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


class Turnstile:
    """Lets the seated threads take one step each, in turn (0, 1, 2, 0, 1, 2, ...)."""

    def __init__(self, seats: int):
        self.cond = threading.Condition()
        self.active = list(range(seats))
        self.current = 0

    def wait(self, seat: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.current == seat)

    def _advance(self, seat: int) -> None:
        if not self.active:
            return
        later = [s for s in self.active if s > seat]
        self.current = later[0] if later else self.active[0]

    def pass_on(self, seat: int) -> None:
        with self.cond:
            self._advance(seat)
            self.cond.notify_all()

    def leave(self, seat: int) -> None:
        with self.cond:
            if seat in self.active:
                self.active.remove(seat)
            if self.current == seat:
                self._advance(seat)
            self.cond.notify_all()


def time_mask_callback(trainer) -> list[float]:
    """Time the per-step work of the trainer's `TicketMaskCallback`: its gradient hooks (in the backward pass)
    plus the mask multiplication after the optimizer step; one total per optimizer step."""
    spent: list[float] = []
    in_hooks = [0.0]
    masked_gradient = callbacks_module._masked_gradient

    def timed_hook(multiplier, param):  # bound by the hooks that on_train_begin registers
        start = time.perf_counter()
        result = masked_gradient(multiplier, param)
        in_hooks[0] += time.perf_counter() - start
        return result

    callbacks_module._masked_gradient = timed_hook
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TicketMaskCallback):
            inner = callback.on_optimizer_step

            def timed(*args, _inner=inner, **kwargs):
                start = time.perf_counter()
                result = _inner(*args, **kwargs)
                spent.append(time.perf_counter() - start + in_hooks[0])
                in_hooks[0] = 0.0
                return result

            callback.on_optimizer_step = timed
    return spent


def apply_torch_prune(model: torch.nn.Module, mask: TicketMask) -> None:
    import torch.nn.utils.prune as tprune

    for name in mask:
        module_name, _, param_name = name.rpartition(".")
        tprune.custom_from_mask(model.get_submodule(module_name), param_name, mask[name])


def make_trainer(config: str, template, mask: TicketMask, data: Dataset, setup: Setup, warmup: int, workdir: str,
                 timer: StepTimer):
    """A fresh copy of the template model in `config`; returns (trainer, model, mask-apply times)."""
    model = copy.deepcopy(template)
    common_args = dict(
        output_dir=workdir,
        per_device_train_batch_size=setup.batch_size,
        max_steps=warmup + setup.measured_steps,
        learning_rate=setup.learning_rate,
        seed=42,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    mask_times: list[float] = []
    if config == "lth":
        trainer = LTHTrainer(model=model, args=LTHArguments(**common_args), train_dataset=data,
                             data_collator=default_data_collator, mask=mask, callbacks=[timer])
        mask_times = time_mask_callback(trainer)
    else:
        if config == "torch_prune":
            apply_torch_prune(model, mask)
        trainer = Trainer(model=model, args=TrainingArguments(**common_args), train_dataset=data,
                          data_collator=default_data_collator, callbacks=[timer])
    trainer.remove_callback(PrinterCallback)  # no metrics printout at the end of train()
    return trainer, model, mask_times


def pruned_fraction(config: str, model, mask: TicketMask) -> float | None:
    """The fraction of masked weights that are zero after training (80% if the mask held)."""
    if config in ("plain", "plain_again"):
        return None
    params = dict(model.named_parameters())

    def effective(name):
        if config == "lth":
            return params[name]
        module_name, _, param_name = name.rpartition(".")
        return model.get_submodule(module_name).get_parameter(param_name + "_orig") * mask[name]

    return sum(int((effective(n) == 0).sum()) for n in mask) / mask.num_prunable()


def run_once(config: str, template, mask: TicketMask, data: Dataset, setup: Setup, warmup: int, workdir: str):
    """One configuration alone: (step times, mask-apply times, pruned fraction), warm-up steps dropped."""
    timer = StepTimer()
    trainer, model, mask_times = make_trainer(config, template, mask, data, setup, warmup, workdir, timer)
    trainer.train()
    sparsity = pruned_fraction(config, model, mask)
    del trainer, model
    gc.collect()
    return timer.times[warmup:], mask_times[warmup:], sparsity


def run_lockstep(configs, template, mask: TicketMask, data: Dataset, setup: Setup, warmup: int, workdir: str):
    """All configurations at once, each in its own thread, taking their steps in turn: step i of one
    configuration runs between steps i of the others, so slow drifts of a shared machine hit all alike."""
    turnstile = Turnstile(len(configs))
    runs = []
    for seat, config in enumerate(configs):
        timer = StepTimer(turnstile, seat)
        trainer, model, mask_times = make_trainer(config, template, mask, data, setup, warmup,
                                                  f"{workdir}/{config}", timer)
        runs.append((config, trainer, model, mask_times, timer))
    errors = []

    def target(seat, trainer):
        try:
            trainer.train()
        except BaseException as error:  # noqa: BLE001 - reported after the join
            errors.append(error)
        finally:
            turnstile.leave(seat)

    threads = [threading.Thread(target=target, args=(seat, run[1])) for seat, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    results = {config: (timer.times[warmup:], mask_times[warmup:], pruned_fraction(config, model, mask))
               for config, _, model, mask_times, timer in runs}
    del runs
    gc.collect()
    return results


def bench_model(name: str, setup: Setup, warmup: int, quick: bool, sparsity: float, interleave: str):
    template = build_model(name, setup.vocab_size, quick)
    scope = resolve_prune_scope(template, "auto")
    params = dict(template.named_parameters())
    dense = TicketMask({n: torch.ones(params[n].shape, dtype=torch.bool) for n in scope})
    mask = prune("global_magnitude", {n: params[n].detach() for n in scope}, dense, sparsity)
    data = synthetic_data(setup, setup.batch_size * (warmup + setup.measured_steps))
    steps = {c: [] for c in CONFIGS}
    per_round = {c: [] for c in CONFIGS}
    mask_apply: list[float] = []
    final_sparsity = {}
    with tempfile.TemporaryDirectory() as workdir:
        # One untimed run first: the first steps of a process (allocator, kernels, page faults) are much slower.
        run_once("plain", template, mask, data, setup, warmup, workdir)
        for r in range(setup.rounds):
            order = CONFIGS[r % len(CONFIGS):] + CONFIGS[: r % len(CONFIGS)]
            if interleave == "step":
                results = run_lockstep(order, template, mask, data, setup, warmup, workdir)
            else:
                results = {c: run_once(c, template, mask, data, setup, warmup, workdir) for c in order}
            for config, (times, mask_times, s) in results.items():
                steps[config] += times
                per_round[config].append(common.median(times))
                mask_apply += mask_times
                final_sparsity[config] = s
    n_params = sum(p.numel() for p in template.parameters())
    return {
        "steps_s": steps,
        "round_medians_s": per_round,
        "mask_apply_s": mask_apply,
        "sparsity_after": final_sparsity,
        "mask_sparsity": mask.sparsity(),
        "prunable": mask.num_prunable(),
        "parameters": n_params,
        "setup": setup.__dict__,
    }


def main(argv=None) -> list[common.Row]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny models, one round (smoke test)")
    parser.add_argument("--models", default="cnn,lstm,bert-tiny,bert-base")
    parser.add_argument("--warmup", type=int, default=None, help="steps dropped at the start of each run")
    parser.add_argument("--rounds", type=int, default=None, help="override the rounds of every model")
    parser.add_argument("--sparsity", type=float, default=0.8)
    parser.add_argument("--interleave", choices=("step", "run"), default="step",
                        help="step: the trainers take turns step by step (threads); run: one run after another")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    args = parser.parse_args(argv)
    hf_logging.set_verbosity_error()
    setups = QUICK if args.quick else FULL
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    rows, raw = [], {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        setup = setups[name]
        if args.rounds:
            setup.rounds = args.rounds
        started = time.perf_counter()
        result = bench_model(name, setup, warmup, args.quick, args.sparsity, args.interleave)
        result["wall_s"] = time.perf_counter() - started
        raw[name] = result
        med = {c: common.median(v) for c, v in result["steps_s"].items()}
        apply_ms = common.median(result["mask_apply_s"]) * 1e3
        round_ratios = [l / p for l, p in zip(result["round_medians_s"]["lth"], result["round_medians_s"]["plain"])]
        size = (f"{result['parameters'] / 1e6:.1f}M params, {result['prunable'] / 1e6:.2f}M prunable, "
                f"batch {setup.batch_size} x {setup.seq_len}")
        ratio = med["lth"] / med["plain"]

        def paired(config, steps=result["steps_s"]):
            return common.median(a / b for a, b in zip(steps[config], steps["plain"]))

        rows.append(common.Row(
            f"{name}: LTHTrainer step at {result['mask_sparsity']:.0%} sparsity ({size})", med["lth"] * 1e3, "ms",
            "plain Trainer step", med["plain"] * 1e3, "<= 1.02x", ratio <= 1.02 if not args.quick else None,
            note=(f"masking (gradient hooks + weight multiplication) {apply_ms:.2f} ms a step = {apply_ms / (med['plain'] * 1e3):.2%} of a plain step; "
                  f"median of step-by-step lth/plain ratios {paired('lth'):.3f}; "
                  f"per-round lth/plain ratios {', '.join(f'{x:.3f}' for x in round_ratios)}; "
                  f"{len(result['steps_s']['plain'])} steps per configuration over {setup.rounds} rounds"),
        ))
        rows.append(common.Row(
            f"{name}: the masking inside that step (TicketMaskCallback: gradient hooks + weight multiplication)",
            apply_ms, "ms",
            "plain Trainer step", med["plain"] * 1e3, "<= 0.02x",
            apply_ms <= 0.02 * med["plain"] * 1e3 if not args.quick else None,
            note="the only per-step work LTHTrainer adds to Trainer: its share of a plain step is the overhead, "
                 "without the machine's step-to-step noise",
        ))
        rows.append(common.Row(
            f"{name}: torch.nn.utils.prune step (custom_from_mask, same weights)", med["torch_prune"] * 1e3, "ms",
            "plain Trainer step", med["plain"] * 1e3,
            note=f"median of step-by-step ratios {paired('torch_prune'):.3f}",
        ))
        rows.append(common.Row(
            f"{name}: A/A control, a second plain Trainer in the same rotation", med["plain_again"] * 1e3, "ms",
            "plain Trainer step", med["plain"] * 1e3,
            note=f"the noise floor of this measurement on this machine; median of step-by-step ratios "
                 f"{paired('plain_again'):.3f}",
        ))
    settings = {"command": common.command_line(), "warmup": warmup, "interleave": args.interleave, "sparsity": args.sparsity, "quick": args.quick,
                "torch_threads": torch.get_num_threads()}
    common.report("step_overhead" + ("_quick" if args.quick else ""), "Target 1: step overhead", rows, raw, args.out,
                  settings)
    return rows


if __name__ == "__main__":
    main()
