"""Experiment identity: every setting that changes a result, split into the trunk's and a line's.

A rerun on a folder continues the experiment there only if these settings are the same; a difference is an
error naming each setting with both values. The identity is every Trainer and `lth_*` argument, the data and
model arguments the script passes, the model's configuration, and facts of the data (train rows) and of the
model (parameter count, prunable tensors), minus `MAY_CHANGE`: the settings a rerun may change without
changing what was computed (more rounds or controls, logging, checkpointing, evaluation batch size, the Hub).
List flags are taken in their normalised form (`canonical_settings`): "5,10", as earlier versions had it, and
[5, 10] are the same setting.

The trunk (round 0, the dense training) depends on everything but `LINE_SETTINGS`, which define a line of
pruned rounds (main line or branch): how to prune, how to rewind, and what a finetune round trains at; the flags of
the line methods (`hf_lth.methods`) are line settings too. A line's identity keeps its own method's flags only,
less those its method says change nothing (`LineMethod.identity`: IMP drops `lth_target_sparsity`, which only
sets the number of rounds).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import LTHInputError
from ..methods import METHODS, get_method, method_setting_names
from .flags import LIST_FLAGS

if TYPE_CHECKING:
    from ..data.loading import DataArguments

# Arguments a rerun may change: they add work (rounds, controls), or change only what is shown, kept or pushed.
MAY_CHANGE = frozenset({
    "output_dir", "overwrite_output_dir", "logging_dir", "logging_strategy", "logging_steps", "logging_first_step",
    "logging_nan_inf_filter", "log_level", "log_level_replica", "log_on_each_node", "report_to", "run_name",
    "project", "trackio_space_id", "disable_tqdm", "push_to_hub", "save_strategy", "save_steps", "save_total_limit",
    "save_only_model", "save_safetensors", "save_on_each_node", "resume_from_checkpoint", "ignore_data_skip",
    "per_device_eval_batch_size", "eval_accumulation_steps", "eval_strategy", "eval_steps", "eval_delay",
    "eval_do_concat_batches", "eval_on_start", "eval_use_gather_object", "batch_eval_metrics", "prediction_loss_only",
    "dataloader_num_workers", "dataloader_pin_memory", "dataloader_persistent_workers", "dataloader_prefetch_factor",
    "skip_memory_metrics", "include_num_input_tokens_seen", "include_tokens_per_second", "local_rank",
    "do_train", "do_eval", "do_predict", "lth_rounds", "lth_controls", "lth_control_rounds", "lth_push_round",
    "lth_branch", "lth_rewind_steps", "lth_evaluate_test", "lth_compact_tickets", "lth_push_shrunk",
    "lth_resume_from", "preprocessing_num_workers", "overwrite_cache", "cache_dir", "token", "trust_remote_code",
})
_MAY_CHANGE_PATTERNS = re.compile(r"^(hub_|push_to_hub)|_token$")

# What a line (main line or branch) may set differently from another line on the same trunk; so may the flags of
# every line method (`hf_lth.methods`), see `line_settings()`.
LINE_SETTINGS = frozenset({
    "lth_strategy", "lth_prune_rate", "lth_prune_schedule", "lth_one_shot", "lth_target_sparsity", "lth_rewind",
    "lth_prune_scope", "lth_finetune_lr_fraction", "lth_selection_metric", "lth_collapse_threshold", "prunable",
    "lth_method", "lth_granularity",
})

# Configuration fields that say nothing about the computation, or that transformers fills in during training or
# saving (`problem_type` at the first forward, `dtype` when written).
_CONFIG_IGNORED = {"lth", "transformers_version", "_name_or_path", "_commit_hash", "architectures", "auto_map",
                   "problem_type", "dtype", "torch_dtype"}


def identity_settings(args: Any, model: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every result-changing setting, flat and JSON-normalised (what `lth_experiment.json` records)."""
    settings = {k: v for k, v in canonical_settings(args.to_dict()).items() if not _may_change(k)}
    method = get_method(args.lth_method)
    for other in METHODS.values():
        if other is not method:
            for name in other.setting_names():
                settings.pop(name, None)  # the settings of the other methods change nothing here
    method.identity(settings)
    if settings.get("lth_granularity") == "unstructured":
        settings.pop("lth_granularity")  # the only granularity before there was a choice: older folders match
    if settings.get("lth_prune_schedule") == "geometric":
        settings.pop("lth_prune_schedule")  # the only schedule before there was a choice: older folders match
    settings["world_size"] = args.world_size
    for group, values in (extra or {}).items():
        settings.update({f"{group}.{k}": v for k, v in values.items() if not _may_change(k)})
    config = model.config.to_dict() if hasattr(model, "config") else {}
    settings.update({f"config.{k}": v for k, v in config.items() if k not in _CONFIG_IGNORED})
    settings["model_class"] = type(model).__name__
    settings["num_parameters"] = sum(p.numel() for p in model.parameters())
    return normalise(settings)


def recorded_group(settings: dict[str, Any], group: str) -> dict[str, Any]:
    """The settings of one group of `experiment_settings` (`"data"`, `"model_args"`) from a recorded identity, by their
    own names: the inverse of the `group.` prefix `identity_settings` gives them (less the settings a rerun may
    change, which the identity does not keep)."""
    prefix = f"{group}."
    return {k.removeprefix(prefix): v for k, v in settings.items() if k.startswith(prefix)}


def data_arguments(settings: dict[str, Any]) -> DataArguments:
    """The `DataArguments` an experiment ran with, from its recorded trunk settings
    (`ExperimentFolder.trunk_settings()`); the settings a rerun may change (`cache_dir`, ...) take their defaults.

    Raises:
        LTHInputError: the record holds no data settings (the experiment was not run by `hf-lth-run`) or some that
            `DataArguments` does not have.
    """
    from ..data.loading import DataArguments

    recorded = recorded_group(settings, "data")
    unknown = sorted(set(recorded) - {f.name for f in dataclasses.fields(DataArguments)})
    if not recorded or unknown:
        raise LTHInputError(f"the recorded settings hold no data arguments that DataArguments takes "
                            f"({'unknown: ' + ', '.join(unknown) if unknown else 'none recorded'}).")
    return DataArguments(**recorded)


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trunk settings, line settings)."""
    line_keys = line_settings()
    trunk = {k: v for k, v in settings.items() if k not in line_keys}
    line = {k: v for k, v in settings.items() if k in line_keys}
    return trunk, line


def line_settings() -> frozenset[str]:
    """`LINE_SETTINGS` and the flags of every registered line method."""
    return LINE_SETTINGS | method_setting_names()


def canonical_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with each list flag (`hf_lth.settings.flags`) in its normalised form, whether it was recorded as a
    list or as the comma-separated string of earlier versions ("5,10" and [5, 10] both give [5, 10])."""
    return {k: LIST_FLAGS[k](v) if k in LIST_FLAGS else v for k, v in settings.items()}


def normalise(value: Any) -> Any:
    """The value as it reads back from JSON (int dict keys become strings, tuples lists, enums their value)."""
    return json.loads(json.dumps(value, sort_keys=True, default=lambda v: getattr(v, "value", str(v))))


def _may_change(name: str) -> bool:
    return name in MAY_CHANGE or bool(_MAY_CHANGE_PATTERNS.search(name))
