"""`LTHArgumentParser`: the command line of `hf-lth-run` (`python -m hf_lth.run`, `examples/run_lth.py`).

An `HfArgumentParser` whose `--help` shows the script's description (usage examples) as written, then one group
per dataclass with hf_lth's flags (model, data, `--lth_*`) before Trainer's common ones (`--help-all` lists the
rest; every flag parses either way), and which reads an experiment file: a JSON object of flag values, overridden
by the flags that follow it (`config.json --seed 43`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_type_hints

from transformers import HfArgumentParser, TrainingArguments

from ..errors import LTHInputError

_TRAINER_FIELDS = {f.name: f for f in dataclasses.fields(TrainingArguments)}

# Trainer's flags that `--help` lists (with all of hf_lth's); `--help-all` lists the other ~80 too. Every one parses.
COMMON_TRAINER_FLAGS = frozenset({
    "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
    "gradient_accumulation_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay",
    "max_grad_norm", "optim", "seed", "bf16", "fp16", "use_cpu", "torch_compile", "gradient_checkpointing",
    "logging_steps", "log_level", "disable_tqdm", "report_to", "run_name", "save_strategy", "save_steps",
    "save_total_limit", "dataloader_num_workers", "dataloader_pin_memory", "push_to_hub", "hub_model_id",
    "hub_token", "hub_private_repo",
})


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, and each flag with its default."""


class LTHArgumentParser(HfArgumentParser):
    """`HfArgumentParser` with hf_lth's flags first in `--help` and experiment files (see the module docstring).

    Args:
        dataclass_types: the argument dataclasses, e.g. `(ModelArguments, DataArguments, LTHArguments)`.
        **kwargs (Any): passed to `HfArgumentParser` (`argparse.ArgumentParser` options); `formatter_class` and
            `usage` default to hf_lth's.
    """

    def __init__(self, dataclass_types: Iterable[type], **kwargs: Any):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("usage", "%(prog)s [EXPERIMENT.json] [--flag VALUE ...]")
        self._hidden_help: dict[argparse.Action, str | None] = {}
        super().__init__(dataclass_types, **kwargs)
        if self._hidden_help:
            self.add_argument("--help-all", action=_HelpAllAction,
                              help=f"show every flag, the {self.hidden_flag_count()} less common ones of Trainer "
                                   "too, and exit")

    def hidden_flag_count(self) -> int:
        """How many of Trainer's flags `--help` leaves out (`--help-all` shows them).

        Returns:
            The number of hidden flags, a flag and its `--no_` form counted once.
        """
        return len({action.dest for action in self._hidden_help})

    def show_every_flag(self) -> None:
        """Give the less common Trainer flags, hidden from `--help`, their help text back (as `--help-all` does)."""
        for action, text in self._hidden_help.items():
            action.help = text
        self._hidden_help = {}

    def _add_dataclass_arguments(self, dtype: type) -> None:
        """One group per dataclass; a `TrainingArguments` subclass gives two: its own fields, then Trainer's."""
        own = self.add_argument_group(getattr(dtype, "_argument_group_name", dtype.__name__), _summary(dtype.__doc__))
        trainer, trainer_fields = own, {}
        if issubclass(dtype, TrainingArguments):
            trainer_fields = _TRAINER_FIELDS
            trainer = self.add_argument_group("TrainingArguments")  # described below, once the rare flags are hidden
        hints = get_type_hints(dtype)
        for field in dataclasses.fields(dtype):
            if not field.init:
                continue
            base = trainer_fields.get(field.name)
            group = own if base is None else trainer
            field.type = hints[field.name]
            before = len(group._group_actions)
            self._parse_dataclass_field(group, field)
            if base is not None and base.default is True and field.default is None:
                # a True default made auto (None): keep the --no_ flag that HfArgumentParser gave the True one
                group.add_argument(f"--no_{field.name}", action="store_false", dest=field.name,
                                   default=argparse.SUPPRESS, help=f"Same as --{field.name} false.")
            if base is not None and field.name not in COMMON_TRAINER_FLAGS:
                for action in group._group_actions[before:]:  # the flag and its --no_ form, if any
                    self._hidden_help[action] = action.help
                    action.help = argparse.SUPPRESS
        if trainer_fields:
            changed = ", ".join(f.name for f in dataclasses.fields(dtype) if _changes_default(f))
            trainer.description = textwrap.fill(
                f"Trainer's common flags ({self.hidden_flag_count()} more with --help-all; all of them work); "
                f"{dtype.__name__} changes the defaults of {changed}.", 100)

    def parse_cli(self, argv: list[str]) -> tuple[Any, ...]:
        """The dataclasses from `argv`: flags, or an experiment file (`.json`) followed by flags that override it.

        The file's values become the parser's defaults, converted by each flag's type as on the command line.
        Call it once per parser.
        """
        if argv and argv[0].endswith(".json"):
            self.set_defaults(**self.read_experiment_file(argv[0]))
            argv = argv[1:]
        *parsed, unknown = self.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        return tuple(parsed)

    def read_experiment_file(self, path: str) -> dict[str, Any]:
        """The flag values in the JSON file `path` (None values left out), as strings where argparse converts them."""
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise LTHInputError(f"cannot read the experiment file {path}: {err}.") from err
        if not isinstance(config, dict):
            raise LTHInputError(f"the experiment file {path} must hold a JSON object of flags.")
        config = {key.replace("-", "_"): value for key, value in config.items() if value is not None}
        known = {f.name for dtype in self.dataclass_types for f in dataclasses.fields(dtype) if f.init}
        unknown = sorted(set(config) - known)
        if unknown:
            raise LTHInputError(f"the experiment file {path} sets unknown flags: {', '.join(unknown)}.")
        return {key: _as_flag_value(value) for key, value in config.items()}


class _HelpAllAction(argparse.Action):
    """`--help-all`: the help with every flag, then exit."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, help: str | None = None):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.show_every_flag()
        parser.print_help()
        parser.exit()


def _as_flag_value(value: Any) -> Any:
    """A JSON scalar as it would be typed after its flag (argparse converts string defaults with the flag's type);
    lists and objects as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float, str)) else value


def _changes_default(field: dataclasses.Field) -> bool:
    base = _TRAINER_FIELDS.get(field.name)
    return base is not None and (base.default, base.default_factory) != (field.default, field.default_factory)


def _summary(doc: str | None) -> str | None:
    return textwrap.fill(doc.strip().split("\n\n")[0], 100) if doc else None
