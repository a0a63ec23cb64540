"""The list-valued flags: `--lth_controls`, `--lth_control_rounds`, `--lth_rewind_steps`.

Each takes a list (`--lth_control_rounds 5 10`, or `[5, 10]` in Python and JSON) or, as before these flags were
lists, one comma-separated string (`--lth_control_rounds 5,10`); both forms give the same normalised value.
This module imports nothing heavy, so that the experiment identity can normalise recorded settings too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import LTHInputError


def split_list(value: Any) -> list[str]:
    """`'a,b'`, `['a', 'b']` and `['a,b']` -> `['a', 'b']`; blank parts are dropped and None gives `[]`."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def parse_controls(value: Any) -> list[str]:
    """The control names, in the order given, each once (checked against the registry by `LTHArguments`)."""
    return list(dict.fromkeys(split_list(value)))


def parse_control_rounds(value: Any) -> list[int] | None:
    """The pruned rounds that get the controls, sorted; None for `all` (every pruned round)."""
    parts = split_list(value)
    if value is None or parts == ["all"]:
        return None
    rounds = _integers(parts)
    if not rounds or rounds[0] < 1:
        raise LTHInputError(
            f"lth_control_rounds must be 'all' or pruned round numbers (>= 1) like '5,10', got '{_shown(value)}'."
        )
    return rounds


def parse_rewind_steps(value: Any) -> list[int]:
    """The steps of round 0 kept as rewind points, sorted."""
    steps = _integers(split_list(value))
    if steps is None or (steps and steps[0] < 0):
        raise LTHInputError(f"lth_rewind_steps must be steps >= 0 like '0,50,200', got '{_shown(value)}'.")
    return steps


# Field name -> its normaliser, for every list-valued flag.
LIST_FLAGS: dict[str, Callable[[Any], Any]] = {
    "lth_controls": parse_controls,
    "lth_control_rounds": parse_control_rounds,
    "lth_rewind_steps": parse_rewind_steps,
}


def _integers(parts: list[str]) -> list[int] | None:
    """Sorted distinct integers, or None when a part is not one."""
    try:
        return sorted({int(part) for part in parts})
    except ValueError:
        return None


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
