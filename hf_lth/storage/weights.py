"""Loading weights into a model in place (rewinds and controls never replace the model object)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import LTHInputError


def load_state_in_place(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """`model.load_state_dict(state, strict=False)`, refusing a state that lacks a parameter or has extra keys
    (buffers a checkpoint need not hold are not required)."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    params = dict(model.named_parameters())
    missing = [k for k in missing if k in params]
    if missing or unexpected:
        raise LTHInputError(f"the weights of {source} do not fit the model (missing {missing[:5]}, "
                            f"unexpected {unexpected[:5]}).")
