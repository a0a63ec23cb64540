"""A mask packed 8 weights a byte: how a published line keeps its masks, at 1/8 the size of `lth_mask.safetensors`.

The file is plain safetensors: one uint8 tensor a parameter (`numpy.packbits`, little bit order, flat order, as in
compact tickets), with the shapes and the mask's order (on which tie-breaking depends) in the header metadata.

    save_packed_mask(mask, "state/masks/round_03.safetensors")
    assert load_packed_mask("state/masks/round_03.safetensors").digest() == mask.digest()
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import LTHInputError
from ..storage.atomic import atomic_path
from .masks import TicketMask

FORMAT = "hf_lth.packed_mask"


def save_packed_mask(mask: TicketMask, path: str | Path) -> Path:
    """Write `mask` packed 8 weights a byte to `path`, atomically; return the path."""
    bits = {name: torch.from_numpy(np.packbits(keep.cpu().reshape(-1).numpy(), bitorder="little"))
            for name, keep in mask.items()}
    shapes = {name: list(keep.shape) for name, keep in mask.items()}
    metadata = {"format": FORMAT, "order": json.dumps(list(mask)), "shapes": json.dumps(shapes),
                "sha256": mask.digest()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(bits, tmp, metadata=metadata)
    return path


def load_packed_mask(path: str | Path) -> TicketMask:
    """The mask written by `save_packed_mask`, checked against the digest stored with it.

    Raises:
        LTHInputError: the file is missing, unreadable, not a packed mask, or damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise LTHInputError(f"packed mask file {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise LTHInputError(f"{path} is not a packed mask (format {metadata.get('format')!r}, not {FORMAT!r}).")
            shapes = json.loads(metadata["shapes"])
            masks = {}
            for name in json.loads(metadata["order"]):
                numel = int(np.prod(shapes[name], dtype=np.int64))
                keep = np.unpackbits(handle.get_tensor(name).numpy(), count=numel, bitorder="little").view(bool)
                masks[name] = torch.from_numpy(keep.copy()).view(shapes[name])
    except LTHInputError:
        raise
    except Exception as err:  # safetensors and json raise several types for a broken file
        raise LTHInputError(f"packed mask file {path} is not readable ({err}).") from err
    mask = TicketMask(masks)
    if mask.digest() != metadata.get("sha256"):
        raise LTHInputError(f"packed mask file {path} is damaged: its masks do not match the digest stored with them.")
    return mask
