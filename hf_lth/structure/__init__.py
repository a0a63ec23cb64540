"""Mask granularity: unstructured weights, whole units (`channel`), or N of every M consecutive weights (`N:M`).

`get_granularity(spec, model)` gives the object the trainer prunes with (`hf_lth.structure.base.Granularity`);
`shrink_model` turns a channel ticket into a smaller dense model of the same class.
"""

from __future__ import annotations

import re

import torch

from ..errors import LTHInputError
from .base import Granularity, Unstructured
from .channel import ChannelGranularity
from .nm import NMGranularity
from .shrink import ShrinkResult, shrink_model
from .speed import examples_per_second

_NM = re.compile(r"^(\d+):(\d+)$")


def check_granularity(spec: str) -> None:
    """Raise `LTHInputError` unless `spec` is unstructured, channel or N:M with 0 < N < M."""
    match = _NM.match(spec)
    if spec in ("unstructured", "channel") or (match and 0 < int(match[1]) < int(match[2])):
        return
    raise LTHInputError(
        f"lth_granularity must be unstructured, channel or N:M with 0 < N < M (e.g. 2:4), got '{spec}'."
    )


def get_granularity(spec: str, model: torch.nn.Module | None = None) -> Granularity:
    """The granularity named by `spec` (channel needs the model, whose units it finds)."""
    check_granularity(spec)
    if spec == "unstructured":
        return Unstructured()
    if spec == "channel":
        if model is None:
            raise LTHInputError("lth_granularity channel needs the model, to find its units.")
        return ChannelGranularity(model)
    n, m = map(int, _NM.match(spec).groups())
    return NMGranularity(n, m)


__all__ = ["ChannelGranularity", "Granularity", "NMGranularity", "ShrinkResult", "Unstructured", "check_granularity",
           "examples_per_second", "get_granularity", "shrink_model"]
