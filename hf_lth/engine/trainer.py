"""`LTHTrainer`: a `Trainer` that runs lottery-ticket rounds (train, prune, rewind, retrain) and their controls."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import Trainer, TrainerState
from transformers.trainer import DEFAULT_PROGRESS_CALLBACK
from transformers.trainer_utils import TrainOutput, get_last_checkpoint, set_seed

from ..controls import CONTROLS, Control
from ..errors import LTHInputError
from ..loading.pretrained import is_pretrained
from ..methods import CONTROL_RECORD
from ..progress import RoundProgress, TrainerLogLines, library_progress_bars, round_message, set_log_level
from ..pruning.masks import TicketMask
from ..pruning.packed import load_packed_mask, save_packed_mask
from ..pruning.scope import embedding_parameter_names, resolve_prune_scope
from ..pruning.sharded import full_weights
from ..rewinding import RoundPlan
from ..settings.arguments import LTHArguments
from ..settings.identity import identity_settings, split_settings
from ..storage.atomic import remove_path
from ..storage.folder import TRAINER_STATE_FILE, ExperimentFolder
from ..storage.predictions import SplitPredictions
from ..storage.weights import full_state_dict, load_state_in_place
from ..structure import get_granularity
from .callbacks import RewindPointCallback, TicketMaskCallback
from .collapse import is_collapsed, majority_share
from .restore import restore_published_line
from .round_state import RoundState

logger = logging.getLogger(__name__)


class LTHTrainer(Trainer):
    """A `Trainer` that finds lottery tickets by iterative magnitude pruning with rewinding.

    Use it as a Trainer, with `LTHArguments` and an optional `test_dataset`, then call `find_tickets()`.
    Round 0 trains the dense model and keeps the rewind points; each later round prunes a fraction of the
    surviving weights, rewinds the survivors (`args.rewind`, see `hf_lth.rewinding`) and retrains under the mask.
    Each round calls `Trainer.train()` once, with a fresh optimizer and scheduler, and is written as a normal
    model folder plus `lth_mask.safetensors` (see `ExperimentFolder` for the layout). With `lth_branch`, the
    rounds are a branch that reuses the round 0 of the experiment in `output_dir`.

    Args:
        model: the model to prune (a `PreTrainedModel` or any `nn.Module`); `model_init` is refused.
        args: the `LTHArguments` of the experiment (a plain `TrainingArguments` is refused).
        test_dataset: evaluated after every round beside `eval_dataset` (reported, never used to select).
        mask: start from this mask instead of a dense one (e.g. a ticket found on another dataset).
        ticket_metadata: extra fields stored in every ticket's `lth` record (dataset name, command, ...).
        experiment_settings: settings that define the experiment beyond the arguments and the model, by group
            (e.g. `{"data": asdict(data_args)}`): a rerun with other values is refused (see `hf_lth.settings.identity`).
        **kwargs (Any): passed to `Trainer` (`train_dataset`, `eval_dataset`, `processing_class`, `data_collator`,
            `compute_metrics`, `callbacks`, ...).
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        args: LTHArguments | None = None,
        *,
        test_dataset: Dataset | None = None,
        mask: TicketMask | None = None,
        ticket_metadata: dict[str, Any] | None = None,
        experiment_settings: dict[str, dict[str, Any]] | None = None,
        **kwargs,
    ):
        if not isinstance(args, LTHArguments):
            raise TypeError("LTHTrainer needs `args=LTHArguments(...)` (TrainingArguments plus the lth_* fields).")
        if kwargs.get("model_init") is not None:
            raise LTHInputError("LTHTrainer trains one model across rounds: pass `model=`, not `model_init=`.")
        pretrained = is_pretrained(model)
        args.resolve_prune_schedule(pretrained)
        if pretrained and args.learning_rate >= 1e-3:
            logger.warning("Fine-tuning the pretrained %s at learning_rate %g (hf_lth's default, meant for models "
                           "trained from scratch) usually destroys it: pretrained transformers are fine-tuned at "
                           "1e-5 to 1e-4, e.g. --learning_rate 2e-5.", model.config._name_or_path, args.learning_rate)
        # Trainer would push every checkpoint of every round: hf_lth pushes the chosen ticket once, at the end
        # (`hf_lth.push_ticket`, which `examples/run_lth.py` calls when `--push_to_hub` is given).
        self.push_ticket_to_hub, args.push_to_hub = args.push_to_hub, False
        launched = _launched_processes()
        if launched > 1 and args.world_size != launched:
            raise LTHInputError(
                f"launched as {launched} processes, but each trains alone (parallel mode "
                f"{args.parallel_mode.value}): they would race on one output_dir. Without GPUs add --use_cpu."
            )
        _check_fsdp_version((args.fsdp_plugin_args or {}).get("fsdp_version", 2))  # --fsdp, fsdp_config
        super().__init__(model=model, args=args, **kwargs)
        # FSDP from an accelerate config (`accelerate launch --use_fsdp`)
        _check_fsdp_version(getattr(getattr(self.accelerator.state, "fsdp_plugin", None), "fsdp_version", 2))
        if args.fsdp_plugin_args is not None and not self.is_fsdp_enabled:
            raise LTHInputError(
                f"--fsdp is set, but accelerate did not enable FSDP (distributed type "
                f"{self.accelerator.distributed_type.value}): every process would train the whole model. accelerate "
                "enables FSDP on GPUs and other accelerators only; on the CPU (torchrun, MULTI_CPU) drop --fsdp."
            )
        set_log_level(args.log_level, args.get_process_log_level(), args.should_log)
        self.test_dataset = test_dataset
        self.ticket_metadata = dict(ticket_metadata or {})
        self.experiment_settings = dict(experiment_settings or {})
        self.folder = ExperimentFolder(args.output_dir, args.lth_branch)
        self.rewind = args.rewind
        self.method = args.method
        # every combination is checked before round 0: the strategy (also when the arguments were built), the model
        self.granularity = get_granularity(args.lth_granularity, self.model)
        self.pruner = self.granularity.pruner(args.lth_strategy)  # `lth_strategy` at `lth_granularity`
        if mask is not None:
            mask.check_fits(self.model, "the given mask")
            self.prunable_names = list(mask)
        else:
            scope = resolve_prune_scope(self.model, args.lth_prune_scope)
            self.prunable_names = self.granularity.prunable_names(self.model, scope)
        self.initial_mask = mask if mask is not None else TicketMask.dense(self.model, self.prunable_names)
        self.embedding_names = sorted(embedding_parameter_names(self.model) & set(self.prunable_names))
        self.round = RoundState(0, self.initial_mask)  # the round being trained (`hf_lth.engine.round_state`)
        self._identity: dict[str, Any] | None = None
        self._mask_callback = TicketMaskCallback(self.round)
        self.add_callback(self._mask_callback)
        if self.pop_callback(DEFAULT_PROGRESS_CALLBACK) is not None:  # its step bars would nest under the round bar
            self.add_callback(TrainerLogLines())
        self._progress: RoundProgress | None = None
        self._eval_orders: dict[str, np.ndarray | None] = {}

    # ------------------------------------------------------------------ public API

    def find_tickets(self) -> dict[str, Any]:
        """Run (or continue) every round, then the controls in `args.lth_controls`.

        Returns the results of this line (also in its `lth_results.json`): `rounds` (one record per round, the
        `lth` block of its ticket's config.json: sparsity, sparsity_without_embedding, per-layer sparsity,
        validation and test metrics, train steps and times, `collapsed`), `controls` (kind -> records),
        `best_round` (chosen on validation, never collapsed), `selection_metric`, `experiment` (the settings
        that define it) and `branch`.
        """
        args = self.args
        self._claim_folder()
        if args.lth_resume_from:
            restore_published_line(self, args.lth_resume_from)
        finished = self.folder.finished_rounds()
        last = args.num_pruning_rounds
        wanted = args.control_rounds
        controls = [(kind, index) for kind in args.controls for index in range(1, last + 1)
                    if wanted is None or index in wanted]
        finished_controls = {kind: set(self.folder.finished_rounds(kind)) for kind in args.controls}
        done = len([i for i in finished if i <= last]) + sum(index in finished_controls[kind] for kind, index in controls)
        total = last + 1 + len(controls)
        with self._round_progress(total, done):
            start = self._resume_after(finished, total - done) if finished else 0
            for index in range(start, last + 1):
                self._run_round(index)
            results = self._collect()
            if controls:  # the wanted rounds may all lie beyond this line (a one-round branch)
                results = self.run_controls(args.controls)
        return results

    def run_controls(self, kinds: list[str] | None = None, rounds: list[int] | None = None) -> dict[str, Any]:
        """Train the controls (`hf_lth.controls`) of the finished pruned rounds of this line (default:
        `--lth_control_rounds`), skipping finished ones; return the results."""
        kinds = kinds or self.args.controls
        wanted = rounds if rounds is not None else self.args.control_rounds
        self._claim_folder()
        finished = [r for r in self.folder.finished_rounds() if r > 0]
        selected = finished if wanted is None else [r for r in finished if r in wanted]
        if not selected:
            which = "" if wanted is None else f" among rounds {wanted}"
            raise LTHInputError(f"{self.folder.base} has no finished pruned round{which} to run controls for.")
        unknown = [kind for kind in kinds if kind not in CONTROLS]
        if unknown:
            raise LTHInputError(f"unknown control {unknown}; choose from {sorted(CONTROLS)}.")
        if self.rewind.controls_refused:
            raise LTHInputError(f"controls with lth_rewind {self.rewind}: {self.rewind.controls_refused}.")
        finished_controls = {kind: set(self.folder.finished_rounds(kind)) for kind in kinds}
        todo = [(kind, index) for kind in kinds for index in selected if index not in finished_controls[kind]]
        with self._round_progress(len(todo), 0):
            for kind, index in todo:
                self._run_round(index, CONTROLS[kind]())
        return self._collect()

    # ------------------------------------------------------------------ rounds

    def _run_round(self, index: int, control: Control | None = None) -> None:
        """One round, top to bottom: prune (the mask it trains under), rewind (the weights it starts from), train,
        evaluate, and record it (its ticket folder).

        Round 0 trains the dense model from its initial weights and keeps the rewind points. A pruned round takes
        its mask from the line's method (`hf_lth.methods`), found from the weights the previous round ended with,
        and its start from the rewinding kind (`hf_lth.rewinding`). A control round (`hf_lth.controls`) takes both
        from its control: the ticket of round `index` trained again with one ingredient replaced.
        """
        state = self._round_state(index, control)
        if control is not None:
            ticket_mask = TicketMask.load(self.folder.mask_path(index))
            ticket_mask.check_fits(self.model, f"the mask of {self.folder.round_dir(index)}")
            state.set_mask(control.start(ticket_mask, self.rewind, self.folder, index, self.model, state.seed,
                                         granularity=self.granularity))  # its mask and its start
        elif index > 0:
            mask = self._next_mask(state)  # prune
            load_state_in_place(self.model, self.rewind.start_state(self.folder, index), f"the start of round {index}")
            state.set_mask(mask)
        else:
            self._check_rewind_steps()
        self._enter(state)
        train_output, train_time = self._train(state)
        metrics, predictions, eval_time = self._evaluate_round()
        record = self._round_record(state, train_output, metrics, train_time, eval_time)
        self._write_round(state, record, predictions)

    def _next_mask(self, state: RoundState) -> TicketMask:
        """The mask pruned round `state.index` trains under, from the line's method. A restorable method's
        (`LineMethod.restorable`) is kept while the round trains (its pending mask) and read back when the round
        is run again, so that a line restored from its published records goes on without the weights it came from."""
        if not self.method.restorable:
            return self.method.next_mask(self, state)
        pending = self.folder.pending_mask_path(state.index)
        if pending.is_file():
            mask = load_packed_mask(pending)
            mask.check_fits(self.model, f"the pending mask of round {state.index} ({pending})")
            return mask
        mask = self.method.next_mask(self, state)
        if self.args.should_save:
            save_packed_mask(mask, pending)  # (other processes found the same mask, or read this one whole)
        return mask

    def _round_state(self, index: int, control: Control | None) -> RoundState:
        """Round `index` (of `control`) before it is pruned: its plan and seed; it trains under the line's current
        mask (round 0: the initial one) unless it is given another."""
        args = self.args
        return RoundState(
            index,
            self.initial_mask if index == 0 else self.mask,
            control=control.name if control is not None else None,
            plan=RoundPlan() if index == 0 else self.rewind.plan(self.folder.record(0), args),
            seed=args.seed + index + (control.seed_offset if control is not None else 0),
            capture=tuple(args.rewind_steps) if index == 0 else (),
        )

    def _enter(self, state: RoundState) -> None:
        """Make `state` the round being trained: the mask callback trains under its mask, applied to the model."""
        self.round = state
        self._mask_callback.round = state
        state.mask.apply_(self.model)

    def _train(self, state: RoundState) -> tuple[TrainOutput, float]:
        """`Trainer.train()` once for the round (fresh optimizer and scheduler, the round's seed, plan and callbacks,
        checkpoints in its own folder, resumed from the last one); the output and the training time in seconds."""
        args = self.args
        set_seed(state.seed)
        self._progress.start(round_message(state.index, args.num_pruning_rounds, state.sparsity,
                                           str(self.rewind) if state.index else None, state.control))
        self.optimizer, self.lr_scheduler = None, None
        checkpoints = self.folder.checkpoint_dir(state.index, state.control)
        callbacks = [RewindPointCallback(list(state.capture), self.folder)] if state.capture else []
        callbacks += state.callbacks
        started = time.time()
        with self._round_arguments(output_dir=str(checkpoints), **state.plan.overrides), \
                self._extra_callbacks(callbacks):
            resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
            saved = TrainerState.load_from_json(os.path.join(resume, TRAINER_STATE_FILE)) if resume else None
            if saved is not None and saved.max_steps and saved.global_step >= saved.max_steps:
                train_output = self._restore_trained(resume, saved)
            else:
                train_output = self.train(resume_from_checkpoint=resume)
        missing = [step for step in state.capture if not self.folder.rewind_path(step).is_file()]
        if missing and args.should_save:
            raise LTHInputError(f"lth_rewind_steps {missing} are beyond round 0, which took {self.state.global_step} steps.")
        # A resumed round also counts the time it had run before its checkpoint (saved in that checkpoint).
        return train_output, time.time() - started + state.elapsed_before_resume

    def _write_round(self, state: RoundState, record: dict[str, Any], predictions: dict[str, SplitPredictions]) -> None:
        """Write the round's ticket folder (main process), then rebuild the line's results."""
        args = self.args
        model = self.accelerator.unwrap_model(self.model)
        # A host copy, made on every process: safetensors cannot read XLA tensors, and on XLA `.cpu()` runs the
        # pending graph, which every process must do alike. A sharded model's is gathered whole on the main process.
        state_dict = full_state_dict(model)
        if args.should_save:
            with library_progress_bars(False):  # no "Writing model shards" bar for each ticket
                self.folder.write_round(state.index, state.control, model, state_dict, state.mask, record,
                                        self.processing_class, self.state.log_history,
                                        compact=args.lth_compact_tickets, predictions=predictions)
        self.accelerator.wait_for_everyone()
        self._collect()  # lth_results.json is current after every round, for whoever watches a long run
        self._progress.advance()

    def _round_record(self, state: RoundState, train_output: TrainOutput, metrics: dict[str, float],
                      train_time: float, eval_time: float) -> dict[str, Any]:
        args = self.args
        if state.index == 0:
            method = {"method": None}
        elif state.control is not None:
            method = dict(CONTROL_RECORD)
        else:
            method = self.method.round_record(state)
        record: dict[str, Any] = {
            "round": state.index,
            "control": state.control,
            "branch": args.lth_branch,
            "sparsity": state.sparsity,
            "sparsity_without_embedding": state.mask.sparsity(exclude=self.embedding_names),
            "embedding_parameters": self.embedding_names,
            "num_prunable": state.mask.num_prunable(),
            "num_kept": state.mask.num_kept(),
            "strategy": args.lth_strategy,
            "granularity": args.lth_granularity,
            **self.method.line_record(),
            **method,
            "rewind": str(self.rewind),
            "prune_scope": args.lth_prune_scope,
            "seed": args.seed,
            **metrics,
        }
        record["collapsed"] = is_collapsed(record, args.lth_collapse_threshold)
        if record["collapsed"]:
            logger.warning("Round %d%s collapsed: %.1f%% of its validation predictions are one class.", state.index,
                           f" ({state.control})" if state.control else "", 100 * record["eval_majority_share"])
        record.update(
            train_steps=self.state.global_step,
            train_loss=train_output.training_loss,
            first_learning_rate=state.first_learning_rate,
            final_learning_rate=state.last_learning_rate,
            train_time_s=round(train_time, 3),
            eval_time_s=round(eval_time, 3),
            wall_time_s=round(train_time + eval_time, 3),
            mask_sha256=state.mask.digest(),
            layer_sparsity=state.mask.layer_sparsity(),
            **self.granularity.describe(state.mask),
            **self.ticket_metadata,
        )
        return record

    # ------------------------------------------------------------------ what line methods use (`hf_lth.methods`)

    @property
    def mask(self) -> TicketMask:
        """The mask of the current round (while a method finds the next mask: the one the last round ended with)."""
        return self.round.mask

    @property
    def masker(self) -> TicketMaskCallback:
        """The callback that keeps the round's pruned weights and gradients at zero; `masker.change_mask(mask,
        model)` switches the round to another mask while it trains (gradual pruning)."""
        return self._mask_callback

    def prunable_weights(self) -> dict[str, torch.Tensor]:
        """The model's masked tensors, as they are now (whole on every process, when FSDP2 shards them)."""
        return full_weights(self.model, self.mask)

    def round_steps(self, plan: RoundPlan) -> int:
        """The optimizer steps a round trained as `plan` says will take."""
        with self._round_arguments(**plan.overrides):
            # Trainer's own count (epochs, max_steps, accumulation, processes); it offers no other way to get it
            *_, max_steps = self.set_initial_training_values(self.args, self.get_train_dataloader())
        return max_steps

    def load_weights(self, state: dict[str, torch.Tensor], what: str) -> None:
        """Load `state` into the model in place (`what` names the state in errors)."""
        load_state_in_place(self.model, state, what)

    def train_detached(self, state: RoundState, output_dir) -> int:
        """Train as round `state` says (its mask, plan, seed and callbacks; a fresh optimizer and scheduler) without
        writing a ticket: Trainer's scratch files go to `output_dir`, removed after. The steps trained. An early-bird
        search is such a training."""
        self._enter(state)
        self.optimizer, self.lr_scheduler = None, None
        set_seed(state.seed)
        with self._round_arguments(output_dir=str(output_dir), save_strategy="no", **state.plan.overrides), \
                self._extra_callbacks(state.callbacks):
            self.train()
        remove_path(output_dir)
        return self.state.global_step

    def _evaluate_round(self) -> tuple[dict[str, float], dict[str, SplitPredictions], float]:
        """Validation and test metrics, the share of each split's predictions in its most predicted class, the
        per-example predictions of each split, and the time taken in seconds."""
        started = time.time()
        metrics: dict[str, float] = {}
        predictions: dict[str, SplitPredictions] = {}
        splits = {"eval": self.eval_dataset, "test": self.test_dataset if self.args.lth_evaluate_test else None}
        for prefix, dataset in splits.items():
            if dataset is None:
                continue
            ordered, restore = self._length_sorted(prefix, dataset)
            output = self.predict(ordered, metric_key_prefix=prefix)
            metrics.update(output.metrics)
            metrics[f"{prefix}_majority_share"] = majority_share(output.predictions)
            split = SplitPredictions.from_output(*(_reorder(x, restore) for x in (output.predictions, output.label_ids)))
            if split is not None:
                predictions[prefix] = split
        unwanted = ("_per_second", "epoch", "_model_preparation_time")  # `_runtime`: where a round's time goes
        return {k: v for k, v in metrics.items() if not k.endswith(unwanted)}, predictions, time.time() - started

    def _length_sorted(self, split: str, dataset: Dataset) -> tuple[Dataset, np.ndarray | None]:
        """The split ordered by token count, so that dynamically padded evaluation batches carry little padding,
        and the permutation that puts its outputs back in the dataset's order (None: left as it is). Taken once
        per split; hf_lth's models and BERT mask padding, so the order changes no prediction beyond rounding."""
        if split not in self._eval_orders:
            columns = getattr(dataset, "column_names", None) or []
            order = None
            if "input_ids" in columns and len(dataset) > 1:
                lengths = np.fromiter((len(ids) for ids in dataset["input_ids"]), dtype=np.int64, count=len(dataset))
                order = np.argsort(-lengths, kind="stable")  # longest first: a memory problem shows at once
            self._eval_orders[split] = order
        order = self._eval_orders[split]
        if order is None:
            return dataset, None
        return dataset.select(order), np.argsort(order)

    # ------------------------------------------------------------------ state

    def _restore_trained(self, checkpoint: str, state: TrainerState) -> TrainOutput:
        """Restore a round whose training had finished (its last checkpoint is at max_steps) but whose ticket was
        not written. Trainer, resumed there, would train one step more when the round ends inside an epoch (as a
        `step:K` round does). Its `train_loss` is None: Trainer records it only at the end of `train()`."""
        self.state = state
        # Private, as no public Trainer method loads a checkpoint's weights without training from it.
        self._load_from_checkpoint(checkpoint)
        self._mask_callback.restore(self.state)
        resumed = self.method.resumed_mask(checkpoint) if self.round.control is None else None
        if resumed is not None:  # e.g. a gradual-pruning round's mask, as it had reached
            self.round.set_mask(resumed)
        self.round.mask.apply_(self.model)
        return TrainOutput(self.state.global_step, None, {})

    def _resume_after(self, finished: list[int], left: int) -> int:
        """Restore the state after the last finished round; return the next round to run. `left`: the rounds
        (and control rounds) still to train."""
        if finished != list(range(len(finished))):
            raise LTHInputError(f"{self.folder.base} holds rounds {finished}, with gaps; rerun with --overwrite_output_dir.")
        last = finished[-1]
        mask = self.initial_mask
        if last > 0:  # round 0 is the trunk's, shared by lines that may prune other tensors
            mask = TicketMask.load(self.folder.mask_path(last))
            mask.check_fits(self.model, f"the mask of {self.folder.round_dir(last)}")
        if self.folder.has_weights(last):
            load_state_in_place(self.model, self.folder.read_weights(last), self.folder.round_dir(last))
        elif last < self.args.num_pruning_rounds and not self.folder.pending_mask_path(last + 1).is_file():
            raise LTHInputError(f"round {last} of {self.folder.base} was restored from published records, without its "
                                f"weights, and the mask of round {last + 1} was not published: round {last + 1} cannot "
                                "be pruned from it.")
        self._enter(RoundState(last, mask))
        if left <= 0:
            self._progress.note(f"{self.folder.base}: all {self.args.num_pruning_rounds} rounds"
                                f"{' and their controls' if self.args.controls else ''} are finished; nothing left "
                                "to train.")
        else:
            self._progress.note(f"Resuming {self.folder.base} after finished round {last}: {left} round(s) to train.")
        return last + 1

    def _check_rewind_steps(self) -> None:
        """Refuse rewind steps beyond round 0's length before training, rather than after it."""
        steps = self.args.rewind_steps
        if not steps or steps[-1] == 0:
            return
        max_steps = self.round_steps(RoundPlan())
        beyond = [step for step in steps if step > max_steps]
        if beyond:
            which = f"lth_rewind {self.rewind}" if self.rewind.rewind_steps() == tuple(beyond) else f"lth_rewind_steps {beyond}"
            raise LTHInputError(f"{which} is beyond round 0, which will take {max_steps} steps.")

    # ------------------------------------------------------------------ bookkeeping

    @contextmanager
    def _round_progress(self, total: int, done: int):
        """The bar over rounds of the outermost `find_tickets` / `run_controls` call (nested calls share it)."""
        if self._progress is not None:
            yield
            return
        self._progress = RoundProgress(total, done, enabled=not self.args.disable_tqdm and self.is_world_process_zero())
        try:
            yield
        finally:
            self._progress.close()
            self._progress = None

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
            trunk, line = split_settings(self._settings())
            self.folder.claim(trunk, line, overwrite=self.args.overwrite_output_dir)
            self.args.overwrite_output_dir = False  # only the first claim of this run may clear the folder
        self.accelerator.wait_for_everyone()

    def _settings(self) -> dict[str, Any]:
        """What makes two runs the same experiment (see `hf_lth.settings.identity`)."""
        if self._identity is None:  # taken once, before anything trains
            settings = identity_settings(self.args, self.accelerator.unwrap_model(self.model), self.experiment_settings)
            settings["train_rows"] = len(self.train_dataset) if self.train_dataset is not None else None
            settings["prunable"] = self.prunable_names
            self._identity = settings
        return self._identity

    # ------------------------------------------------------------------ Trainer hooks

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        """Trainer's scheduler; for a round that continues round 0's schedule from step K (`step:K` rewinding),
        the scheduler of round 0's K + `num_training_steps` steps, advanced K steps."""
        offset = self.round.plan.schedule_offset
        if self.lr_scheduler is not None or not offset:
            return super().create_scheduler(num_training_steps, optimizer)
        scheduler = super().create_scheduler(num_training_steps + offset, optimizer)
        with warnings.catch_warnings():  # torch warns of a scheduler step before any optimizer step
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(offset):
                scheduler.step()
        return scheduler

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the round and its sparsity to every log line (so TensorBoard / W&B plot them)."""
        logs = {**logs, "lth_round": self.round.index, "sparsity": self.round.sparsity}
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


def _reorder(values: Any, restore: np.ndarray | None) -> Any:
    """Put arrays (or a tuple of them) computed on the length-sorted split back in the split's order."""
    if values is None or restore is None:
        return values
    if isinstance(values, (tuple, list)):
        return type(values)(_reorder(v, restore) for v in values)
    return np.asarray(values)[restore]


def _check_fsdp_version(version: int) -> None:
    """Refuse FSDP version 1: it flattens each wrapped module's parameters into one, which masks cannot name."""
    if int(version) != 2:
        raise LTHInputError(
            f"fsdp_config version {version}: hf_lth masks sharded models under FSDP2 only (`fully_shard`, whose "
            "parameters keep their names and shapes as DTensors); FSDP1 flattens them. Set fsdp_config "
            '{"version": 2} (the default), or fsdp_version: 2 in the accelerate config.'
        )


def _launched_processes() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))
