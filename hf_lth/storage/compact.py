"""Compact tickets: a ticket's weights as a bitmask plus the surviving values, in one safetensors file.

A ticket's pruned weights are exactly zero, so storing them is waste: at 90% sparsity a masked tensor costs
1 bit per weight (the mask, packed) plus its surviving values, about 0.13x its dense size in float32.
Tensors outside the mask (biases, norms, and for BERT the embeddings, pooler and classifier) are stored as
they are. The file is a plain safetensors file (no pickle); its header metadata says how to expand it:

- `name::bits`: uint8, the tensor's mask packed 8 weights a byte (`numpy.packbits`, little bit order, flat order);
- `name::values`: the surviving values in flat order, in the tensor's own dtype (bit-for-bit);
- `name`: a tensor outside the mask, unchanged;
- tensors that are the same tensor under two names (tied weights) are stored once.

`load_compact` gives back the dense state dict: surviving values bit-for-bit, pruned weights +0.0 (a pruned weight
saved as -0.0, which `w * 0` gives for a negative `w`, compares equal). `save_compact` refuses a pruned weight that is
not zero (the file could not give it back), unless `strict=False`.

    save_compact(model, mask, "round_03/model.compact.safetensors")
    model.load_state_dict(load_compact("round_03/model.compact.safetensors"))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import LTHInputError
from .atomic import atomic_path
from .paths import COMPACT_WEIGHTS_FILE, DENSE_WEIGHTS_FILE

COMPACT_WEIGHTS_NAME = COMPACT_WEIGHTS_FILE
DENSE_WEIGHTS_NAME = DENSE_WEIGHTS_FILE
FORMAT = "hf_lth.compact"
FORMAT_VERSION = "1"
_BITS, _VALUES = "::bits", "::values"


def save_compact(
    model_or_state_dict: torch.nn.Module | Mapping[str, torch.Tensor],
    mask: Mapping[str, torch.Tensor],
    path: str | Path,
    metadata: Mapping[str, str] | None = None,
    strict: bool = True,
) -> int:
    """Write the weights of `model_or_state_dict` to `path` with every tensor named in `mask` stored as
    bitmask + surviving values (atomically). Returns the file's size in bytes.

    `mask` is a `TicketMask` or any mapping name -> bool tensor of the tensor's shape. With `strict`, a pruned
    weight that is not zero raises `LTHInputError` (apply the mask first).
    """
    if isinstance(model_or_state_dict, torch.nn.Module):
        state = model_or_state_dict.state_dict()
    else:
        state = dict(model_or_state_dict)
    missing = [name for name in mask if name not in state]
    if missing:
        raise LTHInputError(f"the mask names tensors that the weights do not have: {missing[:5]} ({len(missing)} in all).")

    tensors: dict[str, torch.Tensor] = {}
    layout: dict[str, dict[str, Any]] = {}
    canonical = _aliases(state, mask)
    for name, tensor in state.items():
        tensor = tensor.detach()
        entry: dict[str, Any] = {"shape": list(tensor.shape), "dtype": str(tensor.dtype).removeprefix("torch.")}
        if canonical[name] != name:
            entry["kind"], entry["of"] = "alias", canonical[name]
        elif name in mask:
            keep = mask[name]
            if tuple(keep.shape) != tuple(tensor.shape):
                raise LTHInputError(
                    f"the mask of '{name}' has shape {tuple(keep.shape)}, the tensor {tuple(tensor.shape)}."
                )
            flat = tensor.cpu().reshape(-1)
            keep_flat = keep.detach().cpu().reshape(-1).to(torch.bool)
            values = _select(flat, keep_flat)
            # Pruned weights are all zero iff the non-zeros of the tensor are those among its surviving values
            # (counted without a copy of the tensor; -0.0 counts as zero, NaN does not).
            if strict and _count_nonzero(flat) != _count_nonzero(values):
                raise LTHInputError(
                    f"'{name}' has non-zero weights where the mask prunes them; apply the mask before saving "
                    "(or pass strict=False to store them as zero)."
                )
            tensors[name + _BITS] = torch.from_numpy(np.packbits(keep_flat.numpy(), bitorder="little"))
            tensors[name + _VALUES] = values
            entry["kind"] = "masked"
        else:
            tensors[name] = _own_storage(tensor.cpu())
            entry["kind"] = "dense"
        layout[name] = entry
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layout": json.dumps(layout),
        **{str(k): str(v) for k, v in (metadata or {}).items()},
    }
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=header)
    return Path(path).stat().st_size


def load_compact(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The dense state dict stored by `save_compact` (tied names share one tensor again)."""
    path = Path(path)
    if not path.is_file():
        raise LTHInputError(f"compact weights file {path} does not exist.")
    state: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        layout = json.loads(_checked_header(handle, path)["layout"])
        for name, entry in layout.items():
            if entry["kind"] == "dense":
                state[name] = handle.get_tensor(name)
            elif entry["kind"] == "masked":
                state[name] = _expand(name, entry, handle.get_tensor(name + _BITS), handle.get_tensor(name + _VALUES), path)
    for name, entry in layout.items():
        if entry["kind"] == "alias":
            state[name] = state[entry["of"]]
    if torch.device(device).type != "cpu":
        moved: dict[int, torch.Tensor] = {}
        state = {name: moved.setdefault(id(t), t.to(device)) for name, t in state.items()}
    return {name: state[name] for name in layout}  # the saved order


def load_compact_mask(path: str | Path) -> dict[str, torch.Tensor]:
    """The masks stored in a compact file (name -> bool tensor), without expanding the weights: a compact ticket
    needs no separate 1-byte-per-weight `lth_mask.safetensors` (`TicketMask(load_compact_mask(path))`)."""
    masks = {}
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        layout = json.loads(_checked_header(handle, Path(path))["layout"])
        for name, entry in layout.items():
            if entry["kind"] == "masked":
                numel = int(np.prod(entry["shape"], dtype=np.int64))
                bits = handle.get_tensor(name + _BITS).numpy()
                masks[name] = torch.from_numpy(np.unpackbits(bits, count=numel, bitorder="little").view(bool)).view(entry["shape"])
    return masks


def compact_metadata(path: str | Path) -> dict[str, str]:
    """The header metadata of a compact file (format, layout, and what the caller added)."""
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        return dict(handle.metadata() or {})


def load_ticket_state(folder: str | Path) -> dict[str, torch.Tensor]:
    """The weights of a ticket folder, from `model.safetensors` or, if only that exists, `model.compact.safetensors`."""
    folder = Path(folder)
    if (folder / DENSE_WEIGHTS_NAME).is_file():
        from safetensors.torch import load_file

        return load_file(str(folder / DENSE_WEIGHTS_NAME))
    if (folder / COMPACT_WEIGHTS_NAME).is_file():
        return load_compact(folder / COMPACT_WEIGHTS_NAME)
    raise LTHInputError(f"{folder} holds neither {DENSE_WEIGHTS_NAME} nor {COMPACT_WEIGHTS_NAME}.")


def load_compact_model(folder: str | Path, model_class=None, **config_kwargs) -> torch.nn.Module:
    """A model from a ticket folder whose weights are compact: built from its `config.json`, then loaded strictly.

    `model_class` defaults to `AutoModelForSequenceClassification`; `config_kwargs` go to `AutoConfig.from_pretrained`
    (e.g. `trust_remote_code=True`).
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder = Path(folder)
    config = AutoConfig.from_pretrained(str(folder), **config_kwargs)
    model_class = model_class or AutoModelForSequenceClassification
    model = model_class.from_config(config) if hasattr(model_class, "from_config") else model_class(config)
    model.load_state_dict(load_compact(folder / COMPACT_WEIGHTS_NAME), strict=True)
    return model


def _checked_header(handle, path: Path) -> dict[str, str]:
    header = handle.metadata() or {}
    if header.get("format") != FORMAT:
        raise LTHInputError(f"{path} is not an hf_lth compact weights file (format {header.get('format')!r}).")
    if header.get("format_version") != FORMAT_VERSION:
        raise LTHInputError(
            f"{path} has compact format version {header.get('format_version')}; this hf_lth reads version {FORMAT_VERSION}."
        )
    return header


def _expand(name: str, entry: dict[str, Any], bits: torch.Tensor, values: torch.Tensor, path: Path) -> torch.Tensor:
    shape = entry["shape"]
    numel = int(np.prod(shape, dtype=np.int64))
    keep = np.unpackbits(bits.numpy(), count=numel, bitorder="little").view(bool)
    keep_t = torch.from_numpy(keep)
    if int(keep.sum()) != values.numel():
        raise LTHInputError(f"{path} is damaged: '{name}' keeps {int(keep.sum())} weights but stores {values.numel()}.")
    dense = torch.zeros(numel, dtype=values.dtype)
    dense_array, values_array = _numpy_view(dense), _numpy_view(values)
    if dense_array is not None and values_array is not None:
        dense_array[keep] = values_array
    else:
        dense[keep_t] = values
    return dense.view(shape)


def _numpy_view(tensor: torch.Tensor) -> np.ndarray | None:
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError):  # bfloat16 and other dtypes numpy does not have
        return None


def _select(flat: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """flat[keep], through numpy where it can (one thread: immune to a busy core, unlike torch's kernels)."""
    array = _numpy_view(flat)
    return torch.from_numpy(array[keep.numpy()]) if array is not None else flat[keep]


def _count_nonzero(tensor: torch.Tensor) -> int:
    array = _numpy_view(tensor)
    return int(np.count_nonzero(array)) if array is not None else int(torch.count_nonzero(tensor))


def _aliases(state: Mapping[str, torch.Tensor], mask: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """name -> the name it is stored under: tensors that are the same view of the same memory are stored once
    (under a masked name if one of them is masked, else the first)."""
    groups: dict[tuple, list[str]] = {}
    for name, t in state.items():
        key = (t.device, t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride())) if t.numel() else (name,)
        groups.setdefault(key, []).append(name)
    canonical = {}
    for names in groups.values():
        masked = [n for n in names if n in mask]
        if len(masked) > 1 and any(not torch.equal(mask[masked[0]].cpu(), mask[n].cpu()) for n in masked[1:]):
            raise LTHInputError(f"tied tensors {masked} have different masks.")
        first = masked[0] if masked else names[0]
        canonical.update({n: first for n in names})
    return canonical


def _own_storage(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous tensor that safetensors accepts (a view into a larger or shared storage is copied)."""
    tensor = tensor.contiguous()
    if tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size() or tensor.storage_offset():
        tensor = tensor.clone()
    return tensor
