"""Instability analysis (linear mode connectivity; Frankle et al., 2020).

From the weights at step K of round 0 (a rewind point), dense or under a ticket's mask, two copies train to the
end of round 0's schedule (T − K steps, the schedule continuing from K) with different data orders (seeds). The
validation error is measured at `points` evenly spaced points of the straight line between the two results;
instability is the largest error on that path minus the mean of the two endpoints' errors. A ticket whose
instability is near 0 at step K is "stable": rewinding to K finds the same basin whatever the data order.

The experiment's data, training settings and model are rebuilt from its folder (its recorded settings, round 0's
model and tokenizer); nothing else is needed. Each finished (K, round) pair is written to the output JSON at once,
so an interrupted analysis resumes where it stopped.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..progress import library_progress_bars
from ..pruning.masks import TicketMask
from ..storage.atomic import write_json_atomic
from ..storage.folder import ExperimentFolder

# The training settings of round 0 that a copy reuses (the rest stay TrainingArguments' defaults).
TRAINING_SETTINGS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "lr_scheduler_type", "warmup_steps",
    "optim", "label_smoothing_factor", "bf16", "fp16", "per_device_eval_batch_size",
)


def interpolate(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """(1 − alpha) a + alpha b for floating tensors; other tensors (integer buffers) from `a`."""
    return {k: torch.lerp(v, b[k], alpha) if v.is_floating_point() else v for k, v in a.items()}


def instability_of(errors: list[float]) -> float:
    """Largest error on the path minus the mean of its two endpoints' errors."""
    return max(errors) - (errors[0] + errors[-1]) / 2


class ExperimentReplay:
    """Rebuilds an experiment's data, model and Trainer settings from its folder, to train copies of round 0."""

    def __init__(self, folder: str | Path):
        from ..data.loading import load_text_classification_data, tokenize_dataset
        from ..models import TextCNNConfig  # noqa: F401  (registers the custom classes with the Auto classes)
        from ..settings.identity import data_arguments

        self.folder = ExperimentFolder(folder)
        settings = self.folder.trunk_settings()
        self.settings = settings
        self.round0 = self.folder.record(0)
        data_args = data_arguments(settings)
        from transformers import AutoTokenizer

        round_dir = self.folder.round_dir(0)
        self.tokenizer = AutoTokenizer.from_pretrained(round_dir, trust_remote_code=True)
        with library_progress_bars(False):
            data = load_text_classification_data(data_args, seed=settings["seed"])
            self.encoded = tokenize_dataset(data, self.tokenizer, data_args.max_seq_length,
                                            pad_to_max_length=data_args.pad_to_max_length)
        self.pad_to_max_length = data_args.pad_to_max_length

    def model(self):
        from transformers import AutoModelForSequenceClassification

        with library_progress_bars(False):
            return AutoModelForSequenceClassification.from_pretrained(self.folder.round_dir(0), trust_remote_code=True)

    def train_copy(self, start: dict[str, torch.Tensor], mask: TicketMask | None, offset: int, seed: int,
                   workdir: Path) -> dict[str, torch.Tensor]:
        """Train a copy from `start` (step `offset` of round 0) under `mask` to round 0's last step."""
        from transformers import PrinterCallback

        from ..data.loading import build_data_collator
        from ..engine.metrics import compute_metrics
        from ..engine.trainer import LTHTrainer
        from ..rewinding import RoundPlan
        from ..settings.arguments import LTHArguments

        model = self.model()
        model.load_state_dict(start)
        kwargs = {k: self.settings[k] for k in TRAINING_SETTINGS if k in self.settings}
        kwargs.update(output_dir=str(workdir), seed=seed, max_steps=self.round0["train_steps"] - offset,
                      save_strategy="no", eval_strategy="no", disable_tqdm=True, report_to="none",
                      dataloader_pin_memory=False, lth_evaluate_test=False)
        trainer = LTHTrainer(model=model, args=LTHArguments(**kwargs), train_dataset=self.encoded["train"],
                             eval_dataset=self.encoded["validation"], processing_class=self.tokenizer,
                             data_collator=build_data_collator(self.tokenizer, self.pad_to_max_length),
                             compute_metrics=compute_metrics, mask=mask)
        trainer.remove_callback(PrinterCallback)  # the analysis reports its own progress, not Trainer's log dicts
        trainer.round.plan = RoundPlan(schedule_offset=offset)  # the schedule of round 0, continued from step `offset`
        trainer.train()
        self.trainer = trainer
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def error(self, state: dict[str, torch.Tensor]) -> float:
        """Validation error (1 − accuracy) of `state`, with the last copy's trainer."""
        self.trainer.model.load_state_dict(state)
        return 1.0 - self.trainer.evaluate()["eval_accuracy"]


def run_instability(folder: str | Path, steps: list[int], rounds: list[int], out: str | Path, line: str | None = None,
                    points: int = 11, seeds: tuple[int, int] = (1, 2),
                    progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Instability at each rewind step in `steps`, dense (round 0) or under the mask of each round of `line` in
    `rounds`; results (and each path's errors) in `out` (JSON), skipping pairs already there. Frankle et al. pair
    step K with the ticket that IMP found rewinding to K: run once per line (`--line step20 --steps 20`), into the
    same `out`."""
    from ..errors import LTHInputError

    out = Path(out)
    results = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {"folder": str(folder), "runs": {}}
    experiment = ExperimentFolder(folder, line)
    missing = [k for k in steps if k not in experiment.rewind_steps()]
    if missing:
        raise LTHInputError(f"{folder} kept no rewind point at step(s) {missing}; it has {experiment.rewind_steps()}.")
    unfinished = [r for r in rounds if r and r not in experiment.finished_rounds()]
    if unfinished:
        raise LTHInputError(f"{experiment.base}: round(s) {unfinished} are not finished.")
    replay = None
    for index in rounds:
        for step in steps:
            key = f"round {index}, step {step}" if index == 0 else f"{line or 'main'} round {index}, step {step}"
            if key in results["runs"]:
                continue
            replay = replay or ExperimentReplay(folder)
            mask = TicketMask.load(experiment.mask_path(index)) if index else None
            start = experiment.read_rewind_point(step)
            if mask is not None:
                start = {k: v * mask[k] if k in mask else v for k, v in start.items()}
            progress(f"instability: {key}: training two copies")
            with tempfile.TemporaryDirectory() as tmp:
                ends = [replay.train_copy(start, mask, step, seed, Path(tmp) / str(seed)) for seed in seeds]
            alphas = [i / (points - 1) for i in range(points)]
            errors = [replay.error(interpolate(ends[0], ends[1], a)) for a in alphas]
            results["runs"][key] = {"round": index, "line": line or "main" if index else None, "step": step, "sparsity": mask.sparsity() if mask else 0.0,
                                    "alphas": alphas, "errors": errors, "instability": instability_of(errors)}
            write_json_atomic(out, results)
    return results
