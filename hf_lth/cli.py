"""`LTHArgumentParser`: the command line of `examples/run_lth.py`.

An `HfArgumentParser` whose `--help` shows the script's description (usage examples) as written, then one group
per dataclass with hf_lth's flags (model, data, `--lth_*`) before Trainer's own, and which reads an experiment
file: a JSON object of flag values, overridden by the flags that follow it (`config.json --seed 43`).
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

from .errors import LTHInputError

_TRAINER_FIELDS = {f.name: f for f in dataclasses.fields(TrainingArguments)}


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
        super().__init__(dataclass_types, **kwargs)

    def _add_dataclass_arguments(self, dtype: type) -> None:
        """One group per dataclass; a `TrainingArguments` subclass gives two: its own fields, then Trainer's."""
        own = self.add_argument_group(getattr(dtype, "_argument_group_name", dtype.__name__), _summary(dtype.__doc__))
        trainer, trainer_fields = own, {}
        if issubclass(dtype, TrainingArguments):
            trainer_fields = _TRAINER_FIELDS
            changed = ", ".join(f.name for f in dataclasses.fields(dtype) if _changes_default(f))
            about = f"Trainer's own flags; {dtype.__name__} changes the defaults of {changed}."
            trainer = self.add_argument_group("TrainingArguments", textwrap.fill(about, 100))
        hints = get_type_hints(dtype)
        for field in dataclasses.fields(dtype):
            if not field.init:
                continue
            base = trainer_fields.get(field.name)
            group = own if base is None else trainer
            field.type = hints[field.name]
            self._parse_dataclass_field(group, field)
            if base is not None and base.default is True and field.default is None:
                # a True default made auto (None): keep the --no_ flag that HfArgumentParser gave the True one
                group.add_argument(f"--no_{field.name}", action="store_false", dest=field.name,
                                   default=argparse.SUPPRESS, help=f"Same as --{field.name} false.")

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
