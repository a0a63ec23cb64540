"""Mask granularity: unstructured weights, whole units (`channel`), or N of every M consecutive weights (`N:M`).

Each granularity is one registered `Granularity` subclass in its own module (`base.py`: the interface, the registry
and unstructured; `channel.py`; `nm.py`); adding one is one file. `check_granularity(spec, strategy)` checks a
`--lth_granularity` value and the strategy it prunes by (when the arguments are built, before anything trains);
`get_granularity(spec, model)` gives the object the trainer prunes with, bound to the model; `shrink_model` turns a
channel ticket into a smaller dense model of the same class, `fuse_for_inference` gives a TextCNN's faster
inference-only forward.
"""

from __future__ import annotations

import torch

from .base import GRANULARITIES, Granularity, Unstructured, parse_granularity, register_granularity
from .channel import ChannelGranularity  # noqa: I001 (registration order is the order choices are listed in)
from .nm import NMGranularity
from .inference import TextCNNForInference, fuse_for_inference
from .shrink import ShrinkResult, shrink_model
from .speed import examples_per_second


def check_granularity(spec: str, strategy: str | None = None) -> Granularity:
    """The granularity `spec` names, unbound; an `LTHInputError` unless `spec` is a registered granularity (e.g.
    unstructured, channel, or N:M with 0 < N < M) that prunes by `strategy` (when given)."""
    granularity = parse_granularity(spec)
    if strategy is not None:
        granularity.check_strategy(strategy)
    return granularity


def get_granularity(spec: str, model: torch.nn.Module | None = None) -> Granularity:
    """The granularity named by `spec`, bound to `model` (channel needs the model, whose units it finds)."""
    return parse_granularity(spec).bind(model)


__all__ = ["GRANULARITIES", "ChannelGranularity", "Granularity", "NMGranularity", "ShrinkResult", "TextCNNForInference",
           "Unstructured",
           "check_granularity", "examples_per_second", "fuse_for_inference", "get_granularity", "parse_granularity", "register_granularity",
           "shrink_model"]
