"""`LTHArguments`: Trainer's arguments plus the lottery-ticket ones, so every field is also a CLI flag."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch
from transformers import TrainingArguments

from ..controls import CONTROLS
from ..errors import LTHInputError
from ..methods import METHODS, LineMethod, get_method, resolve_method, settings_classes
from ..pruning.strategies import PRUNING_STRATEGIES
from ..rewinding import Rewind, parse_rewind
from ..structure import check_granularity
from .flags import parse_control_rounds, parse_controls, parse_rewind_steps
from .precision import accelerator_with_bf16, cpu_bf16_instructions

SelectionMetric = Literal["accuracy", "f1"]
PruneSchedule = Literal["auto", "geometric", "linear"]
# The per-round rate each schedule defaults to: Frankle & Carbin's 20% of the survivors; Chen et al.'s (2020) 10%
# of the original weights.
DEFAULT_PRUNE_RATES = {"geometric": 0.2, "linear": 0.1}


@dataclass
class LTHArguments(*reversed(settings_classes()), TrainingArguments):
    """Arguments of an LTH experiment.

    The flags of each line method (`hf_lth.methods`: `lth_gmp_*`, `lth_eb_*`) come from its settings dataclass,
    mixed in here.

    Besides the `lth_*` fields, five Trainer defaults change to suit small text classifiers trained from
    scratch: `output_dir="lth_output"`, `learning_rate=1e-3`, `per_device_train_batch_size=32`,
    `per_device_eval_batch_size=128`, `save_strategy="no"`. Pass them explicitly for BERT fine-tuning.
    `dataloader_pin_memory` defaults to None: pinned only where an accelerator (a GPU) is available.

    The list flags take a list (`--lth_controls random_pruning random_reinit`) or a comma-separated string
    (`random_pruning,random_reinit`); `__post_init__` normalises both: `lth_controls` to names,
    `lth_control_rounds` to sorted round numbers (None for all), `lth_rewind_steps` to sorted steps.
    """

    output_dir: str | None = field(default="lth_output", metadata={"help": "Where rounds, tickets and results go."})
    learning_rate: float = field(default=1e-3, metadata={"help": "Peak learning rate of every round."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size per device."})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Evaluation batch size per device."})
    save_strategy: str = field(default="no", metadata={"help": "Checkpoints within a round: no | steps | epoch."})
    dataloader_pin_memory: bool | None = field(
        default=None,
        metadata={"help": "Pin the DataLoader's memory; None: pin only where an accelerator (a GPU) is available.",
                  "nargs": "?", "const": True},
    )

    lth_rounds: int = field(default=5, metadata={"help": "Pruning rounds after the dense round 0."})
    lth_prune_rate: float | None = field(
        default=None,
        metadata={"help": "Fraction removed each round, in (0, 1): of the surviving prunable weights (geometric "
                          "schedule) or of all of them (linear). None: 0.2 geometric, 0.1 linear."},
    )
    lth_prune_schedule: PruneSchedule = field(
        default="auto",
        metadata={"help": "geometric: each round removes lth_prune_rate of the survivors (Frankle & Carbin); "
                          "linear: of the original prunable weights, so round r reaches r * rate (Chen et al., 2020); "
                          "auto: linear for a pretrained checkpoint, geometric for a model trained from scratch.",
                  "choices": list(get_args(PruneSchedule))},
    )
    lth_target_sparsity: float | None = field(
        default=None,
        metadata={"help": "Target sparsity in (0, 1): derives lth_rounds from lth_prune_rate (overrides lth_rounds)."},
    )
    lth_one_shot: bool = field(
        default=False, metadata={"help": "The same as --lth_method one_shot: prune straight to lth_target_sparsity "
                                         "in one round (for comparison)."}
    )
    lth_method: str = field(
        default="imp",
        # the registry's live keys, so that a method registered later is a choice too
        metadata={"help": "; ".join(f"{name}: {method.help}" for name, method in METHODS.items()) + ".",
                  "choices": METHODS.keys()},
    )
    lth_strategy: str = field(
        # the registry's live keys, so that a strategy registered later is a choice too
        default="global_magnitude", metadata={"help": "Pruning strategy.", "choices": PRUNING_STRATEGIES.keys()}
    )
    lth_granularity: str = field(
        default="unstructured",
        metadata={"help": "What a mask prunes: unstructured (single weights), channel (whole TextCNN filters, TextRNN "
                          "hidden units, BERT heads and FFN neurons: tickets that shrink into smaller, faster models) "
                          "or N:M (N of every M consecutive weights of a row, e.g. 2:4 for GPU sparse tensor cores)."},
    )
    lth_rewind: str = field(
        default="init", metadata={"help": "Rewind: init | step:K (late rewinding) | lr (LR rewinding) | finetune."}
    )
    # The list flags are list[str] for the parser (the comma form "0,50" is one string); see the class docstring.
    lth_rewind_steps: list[str] = field(
        default_factory=list,
        metadata={"help": "Steps of round 0 whose weights are kept as candidate rewind points, e.g. 0 50 200 (or "
                          "0,50,200), so that branches can rewind there without training round 0 again (step:K "
                          "adds K)."},
    )
    lth_branch: str | None = field(
        default=None,
        metadata={"help": "Run the rounds as the named branch of the experiment in output_dir: it reuses that "
                          "experiment's round 0 and rewind points, with its own strategy, rate, rewind and controls."},
    )
    lth_finetune_lr_fraction: float = field(
        default=0.1,
        metadata={"help": "With lth_rewind finetune: the constant learning rate of pruned rounds, as a fraction of "
                          "learning_rate."},
    )
    lth_collapse_threshold: float = field(
        default=0.95,
        metadata={"help": "A round whose validation predictions fall in one class at least this often is marked "
                          "collapsed (never chosen as best, flagged in tables and plots)."},
    )
    lth_prune_scope: str = field(
        default="auto",
        metadata={"help": "Prunable parameters: 'auto' (per model family), 'no_embedding' (auto, embeddings left "
                          "dense) or regexes 'a,b,!c' ('!' excludes)."},
    )
    lth_controls: list[str] = field(
        default_factory=list,
        metadata={"help": f"Controls run after the rounds: any of {', '.join(CONTROLS)} (space- or comma-separated)."},
    )
    lth_control_rounds: list[str] | None = field(
        default_factory=lambda: ["all"],
        metadata={"help": "Pruned rounds that get the controls: all, or round numbers such as 5 10 (or 5,10); "
                          "controls cost a round each: at the sparsities to compare, far less than at every round."},
    )
    lth_selection_metric: SelectionMetric = field(
        default="accuracy", metadata={"help": "Validation metric that picks the best ticket."}
    )
    lth_evaluate_test: bool = field(default=True, metadata={"help": "Evaluate every round on the test split too."})
    lth_init_mask: str | None = field(
        default=None,
        metadata={"help": "Start from this mask (a mask file, a ticket folder or a Hub repo id) instead of a dense one."},
    )
    lth_resume_from: str | None = field(
        default=None,
        metadata={"help": "A published copy of this line (`hf-lth-study publish` with publish_masks): when output_dir "
                          "holds no finished round, rebuild it from there (records, predictions and masks; init "
                          "rewinding only) and go on. Nothing published yet: start from round 0."},
    )
    lth_push_round: int | None = field(
        default=None, metadata={"help": "With --push_to_hub: the round to push (default: the best on validation)."}
    )
    lth_push_shrunk: bool = field(
        default=False,
        metadata={"help": "With --push_to_hub and lth_granularity channel: push the ticket shrunk into a smaller "
                          "dense model (pruned units removed), with its measured speed-up on the card."},
    )
    lth_compact_tickets: bool = field(
        default=False,
        metadata={"help": "Store each round's weights as bitmask + surviving values (model.compact.safetensors)."},
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start over when output_dir holds an experiment with other settings."}
    )

    def __post_init__(self):
        if self.output_dir and os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            raise LTHInputError(f"output_dir {self.output_dir} is a file, not a folder.")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise LTHInputError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not self.learning_rate >= 0:
            raise LTHInputError(f"learning_rate must be >= 0, got {self.learning_rate}.")
        self._pick_cpu_for_bf16()
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = not self.use_cpu and accelerator_available()
        super().__post_init__()
        if self.lth_prune_rate is not None and not 0.0 < self.lth_prune_rate < 1.0:
            raise LTHInputError(f"lth_prune_rate must be in (0, 1), got {self.lth_prune_rate}.")
        if self.lth_prune_schedule not in get_args(PruneSchedule):
            raise LTHInputError(
                f"lth_prune_schedule must be auto, geometric or linear, got '{self.lth_prune_schedule}'."
            )
        if self.lth_prune_schedule != "auto":
            self.resolve_prune_schedule(pretrained=False)
        if self.lth_rounds < 0:
            raise LTHInputError(f"lth_rounds must be >= 0, got {self.lth_rounds}.")
        if self.lth_target_sparsity is not None and not 0.0 < self.lth_target_sparsity < 1.0:
            raise LTHInputError(f"lth_target_sparsity must be in (0, 1), got {self.lth_target_sparsity}.")
        resolve_method(self)
        get_method(self.lth_method).check(self)
        for method in METHODS.values():
            method.check_settings(self)
        if self.lth_strategy not in PRUNING_STRATEGIES:
            raise LTHInputError(
                f"unknown lth_strategy '{self.lth_strategy}'; choose one of {', '.join(PRUNING_STRATEGIES)}."
            )
        granularity = check_granularity(self.lth_granularity, self.lth_strategy)
        if self.lth_push_shrunk and not granularity.shrinkable:
            raise LTHInputError(f"lth_push_shrunk needs a channel ticket (lth_granularity channel), not "
                                f"{self.lth_granularity}: only whole units can be removed.")
        target = self.lth_target_sparsity
        reaches = granularity.max_sparsity
        if get_method(self.lth_method).needs_target_sparsity and target is not None and target > reaches:
            raise LTHInputError(f"lth_target_sparsity {target} is beyond what lth_granularity {granularity} reaches "
                                f"({granularity.max_sparsity:g}).")
        parse_rewind(self.lth_rewind)
        self.lth_controls = parse_controls(self.lth_controls)
        unknown = [c for c in self.lth_controls if c not in CONTROLS]
        if unknown:
            raise LTHInputError(f"unknown lth_controls {unknown}; choose from {', '.join(CONTROLS)}.")
        self.lth_control_rounds = parse_control_rounds(self.lth_control_rounds)
        refusal = parse_rewind(self.lth_rewind).controls_refused
        if self.lth_controls and refusal:
            raise LTHInputError(f"lth_controls with lth_rewind {self.lth_rewind}: {refusal}.")
        self.lth_rewind_steps = parse_rewind_steps(self.lth_rewind_steps)
        if not 0.0 < self.lth_finetune_lr_fraction <= 1.0:
            raise LTHInputError(f"lth_finetune_lr_fraction must be in (0, 1], got {self.lth_finetune_lr_fraction}.")
        if not 0.0 < self.lth_collapse_threshold <= 1.0:
            raise LTHInputError(f"lth_collapse_threshold must be in (0, 1], got {self.lth_collapse_threshold}.")
        if self.lth_selection_metric not in get_args(SelectionMetric):
            raise LTHInputError(f"lth_selection_metric must be accuracy or f1, got '{self.lth_selection_metric}'.")

    @property
    def rewind(self) -> Rewind:
        return parse_rewind(self.lth_rewind)

    @property
    def rewind_steps(self) -> list[int]:
        """The candidate rewind steps kept from round 0: `lth_rewind_steps` and the step `lth_rewind` needs."""
        return sorted(set(parse_rewind_steps(self.lth_rewind_steps)) | set(self.rewind.rewind_steps()))

    @property
    def controls(self) -> list[str]:
        return parse_controls(self.lth_controls)

    @property
    def control_rounds(self) -> list[int] | None:
        """The pruned rounds named by `lth_control_rounds`, or None for all of them."""
        return parse_control_rounds(self.lth_control_rounds)

    @property
    def method(self) -> LineMethod:
        """The line's method (`hf_lth.methods`), with its settings taken from these arguments."""
        return get_method(self.lth_method)(self)

    def resolve_prune_schedule(self, pretrained: bool) -> None:
        """Fix `lth_prune_schedule` "auto" (linear for a `pretrained` checkpoint, else geometric) and a None
        `lth_prune_rate` (the schedule's default); check that a linear schedule ends below 100%.
        `LTHTrainer` calls it with the model it is given."""
        if self.lth_prune_schedule == "auto":
            self.lth_prune_schedule = "linear" if pretrained else "geometric"
        if self.lth_prune_rate is None:
            self.lth_prune_rate = DEFAULT_PRUNE_RATES[self.lth_prune_schedule]
        if self.lth_prune_schedule == "linear":  # (a single round, one_shot's, removes less than 100% anyway)
            final = self.num_pruning_rounds * self.lth_prune_rate
            if final >= 1.0 - 1e-9:
                raise LTHInputError(
                    f"a linear schedule of {self.num_pruning_rounds} rounds at lth_prune_rate {self.lth_prune_rate} "
                    f"removes {100 * final:.0f}% of the weights; it must stay below 100% (fewer rounds or a lower rate)."
                )

    @property
    def num_pruning_rounds(self) -> int:
        """Rounds after round 0, as the line's method says: for imp, enough to reach the target sparsity, else
        lth_rounds; one for one_shot, gmp and early_bird."""
        return self.method.num_rounds()

    def prune_fraction(self, round_index: int) -> float:
        """Fraction of the survivors to remove before `round_index` (>= 1), as the line's method says: on the
        geometric schedule the rate itself; on the linear one, the share of the survivors that is `rate` of the
        original weights; for one_shot, the target sparsity."""
        return self.method.prune_fraction(round_index)

    def schedule_and_rate(self) -> tuple[str, float]:
        """(schedule, rate), with what "auto" and None mean for a model trained from scratch until resolved."""
        schedule = "geometric" if self.lth_prune_schedule == "auto" else self.lth_prune_schedule
        return schedule, self.lth_prune_rate if self.lth_prune_rate is not None else DEFAULT_PRUNE_RATES[schedule]

    def _pick_cpu_for_bf16(self) -> None:
        """`--bf16` with no accelerator: train on the CPU in bf16 autocast where it has bf16 instructions (see
        `hf_lth.settings.precision`); refuse, naming them, where it has none."""
        wants_bf16 = self.bf16 or self.bf16_full_eval
        if not wants_bf16 or self.use_cpu or accelerator_available() or accelerator_with_bf16():
            return
        if not cpu_bf16_instructions():
            raise LTHInputError(
                "--bf16 without a GPU or TPU needs a CPU with bf16 instructions (amx_bf16 or avx512_bf16), and this "
                "one has neither: drop --bf16 to train in fp32, or add --use_cpu to run bf16 emulated (usually slower)."
            )
        self.use_cpu = True


def accelerator_available() -> bool:
    """True where torch sees an accelerator (CUDA, XPU, MPS...): where pinned memory helps."""
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    return accelerator.is_available() if accelerator is not None else torch.cuda.is_available()
