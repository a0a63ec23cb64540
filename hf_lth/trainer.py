"""`LTHTrainer`: a `Trainer` that runs lottery-ticket rounds (train, prune, rewind, retrain) and their controls."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import Trainer
from transformers.trainer_utils import get_last_checkpoint, set_seed

from .arguments import LTHArguments
from .callbacks import RewindPointCallback, TicketMaskCallback
from .errors import LTHInputError
from .compact import COMPACT_WEIGHTS_NAME, DENSE_WEIGHTS_NAME, load_ticket_state, save_compact
from .experiment import ExperimentFolder
from .hub import push_ticket
from .io import atomic_dir, atomic_path, write_json_atomic
from .masks import MASK_FILE, TicketMask
from .pruning import prune, random_mask_like
from .report import round_table
from .scope import resolve_prune_scope

logger = logging.getLogger(__name__)

_CONTROL_SEED_OFFSET = {"random_pruning": 1_000, "random_reinit": 2_000}


class LTHTrainer(Trainer):
    """A `Trainer` that finds lottery tickets by iterative magnitude pruning with rewinding.

    Use it as a Trainer, with `LTHArguments` and an optional `test_dataset`, then call `find_tickets()`.
    Round 0 trains the dense model and keeps the rewind point; each later round prunes a fraction of the
    surviving weights, rewinds the survivors and retrains under the mask. Each round calls `Trainer.train()`
    once, with a fresh optimizer and scheduler, and is written to `output_dir/round_XX/` as a normal model
    folder plus `lth_mask.safetensors`; `lth_results.json` collects the rounds and controls.

    Args:
        test_dataset: evaluated after every round beside `eval_dataset` (reported, never used to select).
        mask: start from this mask instead of a dense one (e.g. a ticket found on another dataset).
        ticket_metadata: extra fields stored in every ticket's `lth` record (dataset name, command, ...).
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        args: LTHArguments | None = None,
        *,
        test_dataset=None,
        mask: TicketMask | None = None,
        ticket_metadata: dict[str, Any] | None = None,
        **kwargs,
    ):
        if not isinstance(args, LTHArguments):
            raise TypeError("LTHTrainer needs `args=LTHArguments(...)` (TrainingArguments plus the lth_* fields).")
        if kwargs.get("model_init") is not None:
            raise LTHInputError("LTHTrainer trains one model across rounds: pass `model=`, not `model_init=`.")
        # Trainer would push every checkpoint of every round; hf_lth pushes the chosen ticket once, at the end.
        self.push_ticket_to_hub, args.push_to_hub = args.push_to_hub, False
        launched = int(os.environ.get("WORLD_SIZE", "1"))
        if launched > 1 and args.world_size != launched:
            raise LTHInputError(
                f"launched as {launched} processes, but each trains alone (parallel mode "
                f"{args.parallel_mode.value}): they would race on one output_dir. Without GPUs add --use_cpu."
            )
        super().__init__(model=model, args=args, **kwargs)
        self.test_dataset = test_dataset
        self.ticket_metadata = dict(ticket_metadata or {})
        self.folder = ExperimentFolder(args.output_dir)
        if mask is not None:
            mask.check_fits(self.model, "the given mask")
            self.prunable_names = list(mask)
        else:
            self.prunable_names = resolve_prune_scope(self.model, args.lth_prune_scope)
        self.mask = mask if mask is not None else TicketMask.dense(self.model, self.prunable_names)
        self.lth_round = 0
        self.lth_control: str | None = None
        self._sparsity = self.mask.sparsity()
        self._mask_callback = TicketMaskCallback(self.mask)
        self.add_callback(self._mask_callback)
        self._final_learning_rate: float | None = None

    # ------------------------------------------------------------------ public API

    def find_tickets(self) -> dict[str, Any]:
        """Run (or continue) every round, then the controls in `args.lth_controls`; return the results."""
        args = self.args
        last = args.num_pruning_rounds
        self._claim_folder()
        finished = [r for r in self.folder.finished_rounds() if r <= last]
        start = 0
        if finished:
            start = self._resume_after(finished)
        for index in range(start, last + 1):
            self._run_round(index)
        results = self._collect()
        if args.controls:
            results = self.run_controls(args.controls)
        if self.is_world_process_zero():
            print(round_table(results))
            if self.push_ticket_to_hub:
                self.push_ticket()
        return results

    def push_ticket(self, round_index: int | None = None, repo_id: str | None = None) -> str:
        """Push one ticket (default: `--lth_push_round`, else the best on validation) with its mask, tokenizer,
        model card and plot to `repo_id` (default: `--hub_model_id`, else the output folder's name)."""
        args = self.args
        return push_ticket(
            args.output_dir,
            repo_id or args.hub_model_id or Path(args.output_dir).resolve().name,
            round_index=round_index if round_index is not None else args.lth_push_round,
            private=args.hub_private_repo,
            token=args.hub_token,
            command=" ".join(["python"] + sys.argv) if sys.argv and sys.argv[0] else None,
        )

    def run_controls(self, kinds: list[str] | None = None, rounds: list[int] | None = None) -> dict[str, Any]:
        """Train the controls for the finished pruned rounds of this folder (default: `--lth_control_rounds`),
        skipping finished ones.

        `random_pruning`: a random mask with each tensor's sparsity equal to the ticket's, from the ticket's
        starting weights. `random_reinit`: the ticket's mask over freshly initialised prunable weights.
        """
        kinds = kinds or self.args.controls
        wanted = rounds if rounds is not None else self.args.control_rounds
        self._claim_folder()
        finished = [r for r in self.folder.finished_rounds() if r > 0]
        selected = finished if wanted is None else [r for r in finished if r in wanted]
        if not selected:
            which = "" if wanted is None else f" among rounds {wanted}"
            raise LTHInputError(f"{self.folder.root} has no finished pruned round{which} to run controls for.")
        for kind in kinds:
            if kind not in _CONTROL_SEED_OFFSET:
                raise LTHInputError(f"unknown control '{kind}'; choose from {sorted(_CONTROL_SEED_OFFSET)}.")
            done = set(self.folder.finished_rounds(kind))
            for index in selected:
                if index not in done:
                    self._run_control_round(kind, index)
        return self._collect()

    # ------------------------------------------------------------------ rounds

    def _run_round(self, index: int) -> None:
        args, rewind = self.args, self.args.rewind
        if index == 0:
            if rewind.kind == "init":
                self._save_rewind_point(self.model)
            elif rewind.kind == "step":
                self._check_rewind_step()
        else:
            fraction = args.prune_fraction(index)
            new_mask = prune(args.lth_strategy, self._prunable_weights(), self.mask, fraction, seed=args.seed + index)
            if rewind.rewinds_weights:
                self._load_weights(self.folder.rewind_path)
            self._set_mask(new_mask)
        self._train_and_save(index)

    def _run_control_round(self, kind: str, index: int) -> None:
        ticket_mask = TicketMask.load(self.folder.round_dir(index) / MASK_FILE)
        ticket_mask.check_fits(self.model, f"the mask of {self.folder.round_dir(index)}")
        seed = self.args.seed + _CONTROL_SEED_OFFSET[kind] + index
        self._load_round_start_weights(index)
        if kind == "random_pruning":
            self._set_mask(random_mask_like(ticket_mask, seed=seed))
        else:
            self._reinitialise_prunable(seed)
            self._set_mask(ticket_mask)
        self._train_and_save(index, control=kind)

    def _train_and_save(self, index: int, control: str | None = None) -> None:
        """Train one round under the current mask, evaluate it and write its ticket folder."""
        args = self.args
        self.lth_round, self.lth_control = index, control
        self._sparsity = self.mask.sparsity()
        self.mask.apply_(self.model)
        set_seed(args.seed + index + (_CONTROL_SEED_OFFSET[control] if control else 0))
        started = time.time()
        self.optimizer, self.lr_scheduler = None, None
        overrides = {"output_dir": str(self.folder.checkpoint_dir(index, control))}
        if args.rewind.kind == "finetune" and index > 0:
            overrides.update(learning_rate=self._round0_final_lr(), lr_scheduler_type="constant", warmup_steps=0)
        callbacks = []
        if index == 0 and control is None and args.rewind.kind == "step":
            callbacks.append(RewindPointCallback(args.rewind.step, self._save_rewind_point))
        with self._round_arguments(**overrides), self._extra_callbacks(callbacks):
            resume = get_last_checkpoint(overrides["output_dir"]) if Path(overrides["output_dir"]).is_dir() else None
            train_output = self.train(resume_from_checkpoint=resume)
        # A round resumed from a checkpoint past step K already wrote the rewind point before that checkpoint.
        resumed_past_capture = resume is not None and self.folder.rewind_path.is_file()
        if callbacks and not callbacks[0].captured and not resumed_past_capture:
            raise LTHInputError(
                f"lth_rewind step:{args.rewind.step} is beyond round 0, which took {self.state.global_step} steps."
            )
        if index == 0 and control is None:
            self._final_learning_rate = self._mask_callback.last_learning_rate
        # A resumed round also counts the time it had run before its checkpoint (saved in that checkpoint).
        wall = time.time() - started + self._mask_callback.elapsed_before_resume
        record = self._round_record(index, control, train_output, wall)
        self._save_ticket(self.folder.round_dir(index, control), record)
        self._collect()  # lth_results.json is current after every round, for whoever watches a long run

    def _round_record(self, index: int, control: str | None, train_output, wall: float) -> dict[str, Any]:
        args = self.args
        record: dict[str, Any] = {
            "round": index,
            "control": control,
            "sparsity": self._sparsity,
            "num_prunable": self.mask.num_prunable(),
            "num_kept": self.mask.num_kept(),
            "strategy": args.lth_strategy,
            "prune_rate": args.lth_prune_rate if not args.lth_one_shot else args.lth_target_sparsity,
            "rewind": str(args.rewind),
            "prune_scope": args.lth_prune_scope,
            "seed": args.seed,
        }
        record.update(self._evaluate_round())
        record.update(
            train_steps=self.state.global_step,
            train_loss=train_output.training_loss,
            final_learning_rate=self._mask_callback.last_learning_rate,
            wall_time_s=round(wall, 3),
            mask_sha256=self.mask.digest(),
            layer_sparsity=self.mask.layer_sparsity(),
            **self.ticket_metadata,
        )
        return record

    def _evaluate_round(self) -> dict[str, float]:
        metrics = {}
        if self.eval_dataset is not None:
            metrics.update(self.evaluate(metric_key_prefix="eval"))
        if self.test_dataset is not None and self.args.lth_evaluate_test:
            metrics.update(self.evaluate(self.test_dataset, metric_key_prefix="test"))
        return {k: v for k, v in metrics.items() if not k.endswith(("_runtime", "_per_second", "epoch", "_model_preparation_time"))}

    # ------------------------------------------------------------------ state

    def _set_mask(self, mask: TicketMask) -> None:
        self.mask = mask
        self._mask_callback.mask = mask
        mask.apply_(self.model)

    def _prunable_weights(self) -> dict[str, torch.Tensor]:
        params = dict(self.model.named_parameters())
        return {name: params[name].detach() for name in self.mask}

    def _save_rewind_point(self, model: torch.nn.Module) -> None:
        """Write the model's weights to `rewind_point.safetensors` (off the accelerator, main process only)."""
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        if self.args.should_save:
            with atomic_path(self.folder.rewind_path) as tmp:
                save_file(state, tmp, metadata={"format": "hf_lth.rewind_point"})
        self.accelerator.wait_for_everyone()

    def _load_weights(self, path: Path) -> None:
        """Load a safetensors state dict into the model in place (the model object is never replaced)."""
        if not path.is_file():
            raise LTHInputError(f"{path} is missing: the experiment folder is incomplete; rerun with --overwrite_output_dir.")
        self._load_state(load_file(str(path)), path)

    def _load_state(self, state: dict[str, torch.Tensor], source: Path) -> None:
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        missing = [k for k in missing if k in self.mask]
        if missing or unexpected:
            raise LTHInputError(f"{source} does not fit the model (missing {missing[:5]}, unexpected {unexpected[:5]}).")

    def _load_round_start_weights(self, index: int) -> None:
        """The weights a pruned round starts from, before its mask: the rewind point, or round index-1's result."""
        if self.args.rewind.rewinds_weights:
            self._load_weights(self.folder.rewind_path)
        else:
            self._load_state(load_ticket_state(self.folder.round_dir(index - 1)), self.folder.round_dir(index - 1))

    @torch.no_grad()
    def _reinitialise_prunable(self, seed: int) -> None:
        """Give the prunable tensors fresh initial values (random re-initialisation control)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            fresh = type(self.model)._from_config(self.model.config)
        fresh_params = dict(fresh.named_parameters())
        for name, param in self.model.named_parameters():
            if name in self.mask:
                param.copy_(fresh_params[name].to(param.device, param.dtype))

    def _resume_after(self, finished: list[int]) -> int:
        """Restore the state after the last finished round; return the next round to run."""
        if finished != list(range(len(finished))):
            raise LTHInputError(f"{self.folder.root} holds rounds {finished}, with gaps; rerun with --overwrite_output_dir.")
        last = finished[-1]
        round_dir = self.folder.round_dir(last)
        mask = TicketMask.load(round_dir / MASK_FILE)
        mask.check_fits(self.model, f"the mask of {round_dir}")
        self._load_state(load_ticket_state(round_dir), round_dir)
        self._set_mask(mask)
        self._final_learning_rate = self.folder.record(0).get("final_learning_rate")
        logger.info("Resuming %s after finished round %d.", self.folder.root, last)
        return last + 1

    def _check_rewind_step(self) -> None:
        """Refuse `step:K` beyond round 0's length before training, rather than after it."""
        *_, max_steps = self.set_initial_training_values(self.args, self.get_train_dataloader())
        if self.args.rewind.step > max_steps:
            raise LTHInputError(
                f"lth_rewind step:{self.args.rewind.step} is beyond round 0, which will take {max_steps} steps."
            )

    def _round0_final_lr(self) -> float:
        if self._final_learning_rate is None:
            raise LTHInputError("lth_rewind finetune needs round 0's final learning rate, which was not recorded.")
        if self._final_learning_rate == 0:
            logger.warning("Round 0 ended at learning rate 0: fine-tuning rounds will not change the weights.")
        return self._final_learning_rate

    # ------------------------------------------------------------------ outputs

    def _save_ticket(self, directory: Path, record: dict[str, Any]) -> None:
        """Write a normal model folder with the `lth` record in config.json and the mask beside it."""
        model = self.accelerator.unwrap_model(self.model)
        model.config.lth = record
        # A host copy, made on every process: safetensors cannot read XLA tensors, and on XLA `.cpu()` runs the
        # pending graph, which every process must do alike.
        state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        if self.args.should_save:
            with atomic_dir(directory) as tmp:
                if self.args.lth_compact_tickets:  # bitmask + surviving values instead of the dense weights
                    save_compact(state_dict, self.mask, tmp / COMPACT_WEIGHTS_NAME)
                model.save_pretrained(tmp, state_dict=state_dict)  # (it may consume `state_dict`)
                if self.args.lth_compact_tickets:
                    (tmp / DENSE_WEIGHTS_NAME).unlink()
                self.mask.save(tmp / MASK_FILE)
                if self.processing_class is not None:
                    self.processing_class.save_pretrained(tmp)
                write_json_atomic(tmp / "lth_log_history.json", self.state.log_history)
            shutil.rmtree(self.folder.checkpoint_dir(record["round"], record["control"]), ignore_errors=True)
        self.accelerator.wait_for_everyone()

    def _collect(self) -> dict[str, Any]:
        results = None
        if self.args.should_save:
            results = self.folder.collect_results(self.args.lth_selection_metric)
        self.accelerator.wait_for_everyone()
        if results is None:
            results = json.loads(self.folder.results_path.read_text())
        return results

    def _claim_folder(self) -> None:
        if self.args.should_save:
            self.folder.claim(self._settings(), overwrite=self.args.overwrite_output_dir)
            self.args.overwrite_output_dir = False  # only the first claim of this run may clear the folder
        self.accelerator.wait_for_everyone()

    def _settings(self) -> dict[str, Any]:
        """What makes two runs the same experiment (lth_rounds and controls may grow between runs)."""
        args = self.args
        model = self.accelerator.unwrap_model(self.model)
        return {
            "model_class": type(model).__name__,
            "model_type": getattr(model.config, "model_type", None),
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "num_labels": getattr(model.config, "num_labels", None),
            "train_rows": len(self.train_dataset) if self.train_dataset is not None else None,
            "prunable": self.prunable_names,
            "lth_strategy": args.lth_strategy,
            "lth_prune_rate": args.lth_prune_rate,
            "lth_one_shot": args.lth_one_shot,
            "lth_target_sparsity": args.lth_target_sparsity if args.lth_one_shot else None,
            "lth_rewind": str(args.rewind),
            "seed": args.seed,
            "learning_rate": args.learning_rate,
            "num_train_epochs": args.num_train_epochs,
            "max_steps": args.max_steps,
            "train_batch_size": args.per_device_train_batch_size * args.gradient_accumulation_steps,
        }

    # ------------------------------------------------------------------ Trainer hooks

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the round and its sparsity to every log line (so TensorBoard / W&B plot them)."""
        logs = {**logs, "lth_round": self.lth_round, "sparsity": self._sparsity}
        super().log(logs, start_time)

    @contextmanager
    def _round_arguments(self, **overrides):
        saved = {key: getattr(self.args, key) for key in overrides}
        try:
            for key, value in overrides.items():
                setattr(self.args, key, value)
            yield
        finally:
            for key, value in saved.items():
                setattr(self.args, key, value)

    @contextmanager
    def _extra_callbacks(self, callbacks):
        for callback in callbacks:
            self.add_callback(callback)
        try:
            yield
        finally:
            for callback in callbacks:
                self.remove_callback(callback)

