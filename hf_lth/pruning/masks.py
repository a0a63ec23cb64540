"""`TicketMask`: which prunable weights survive, kept beside the model as one bool tensor per parameter."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..errors import LTHInputError
from ..storage.atomic import atomic_path
from ..storage.paths import MASK_FILE  # noqa: F401  (its name in a round folder)
from .sharded import local, shard_like


class TicketMask(Mapping[str, torch.Tensor]):
    """Parameter name -> bool tensor (True keeps the weight), one byte per prunable weight.

    The mask never lives inside the model: `apply_` multiplies it into the weights in place, which the
    trainer does after every optimizer step and after every rewind.

    Args:
        masks: parameter name -> tensor of the parameter's shape, nonzero where the weight is kept (stored as bool).
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]):
        self._masks = {name: mask.to(torch.bool) for name, mask in masks.items()}

    @classmethod
    def dense(cls, model: torch.nn.Module, names: Iterable[str]) -> TicketMask:
        """An all-True mask over the named parameters of `model` (round 0)."""
        params = dict(model.named_parameters())
        return cls({name: torch.ones(params[name].shape, dtype=torch.bool) for name in names})

    # Mapping protocol
    def __getitem__(self, name: str) -> torch.Tensor:
        return self._masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._masks)

    def __len__(self) -> int:
        return len(self._masks)

    # Counts
    def num_prunable(self) -> int:
        return sum(mask.numel() for mask in self._masks.values())

    def num_kept(self) -> int:
        return sum(int(mask.sum()) for mask in self._masks.values())

    def sparsity(self, exclude: Iterable[str] = ()) -> float | None:
        """Fraction of prunable weights that are pruned (leaving out the tensors named in `exclude`; None when
        that leaves none)."""
        skip = set(exclude)
        masks = [mask for name, mask in self._masks.items() if name not in skip]
        total = sum(mask.numel() for mask in masks)
        if not skip:
            return 1.0 - self.num_kept() / total if total else 0.0
        return 1.0 - sum(int(mask.sum()) for mask in masks) / total if total else None

    def layer_sparsity(self) -> dict[str, float]:
        return {name: 1.0 - float(mask.sum()) / mask.numel() for name, mask in self._masks.items()}

    def layer_kept(self) -> dict[str, int]:
        return {name: int(mask.sum()) for name, mask in self._masks.items()}

    # Relations
    def is_nested_in(self, other: TicketMask) -> bool:
        """True when every weight this mask keeps is also kept by `other` (pruned weights never return)."""
        return self.keys() == other.keys() and all(
            not bool((self[name] & ~other[name].to(self[name].device)).any()) for name in self
        )

    def digest(self) -> str:
        """A SHA-256 of names and bits, to compare masks across processes or runs."""
        sha = hashlib.sha256()
        for name in sorted(self._masks):
            sha.update(name.encode())
            sha.update(self._masks[name].cpu().contiguous().numpy().tobytes())
        return sha.hexdigest()

    # Model interaction
    def check_fits(self, model: torch.nn.Module, source: str = "the mask") -> None:
        """Raise `LTHInputError` naming the first parameter that is missing or has another shape."""
        params = dict(model.named_parameters())
        missing = [name for name in self._masks if name not in params]
        if missing:
            raise LTHInputError(
                f"{source} names parameters that the model does not have: {missing[:5]}"
                f" ({len(missing)} in all); the model has e.g. {list(params)[:5]}."
            )
        for name, mask in self._masks.items():
            if tuple(mask.shape) != tuple(params[name].shape):
                raise LTHInputError(
                    f"{source} has shape {tuple(mask.shape)} for '{name}', but the model's parameter has "
                    f"shape {tuple(params[name].shape)}."
                )

    def bind(self, model: torch.nn.Module) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
        """Pair each masked parameter with its mask moved to the parameter's device (done once a round); for a
        parameter that FSDP2 shards, with the slice of the mask that its local shard holds (`pruning.sharded`)."""
        params = dict(model.named_parameters())
        return [(params[name], shard_like(mask, params[name])) for name, mask in self._masks.items()]

    @torch.no_grad()
    def apply_(self, model: torch.nn.Module) -> None:
        """Zero the pruned weights of `model` in place."""
        apply_bound_(self.bind(model))

    # Persistence
    def save(self, path: str | Path) -> None:
        """Write the mask as safetensors (bool tensors), atomically."""
        tensors = {name: mask.cpu().contiguous() for name, mask in self._masks.items()}
        # safetensors stores tensors sorted by name: keep the order, on which tie-breaking and the random
        # strategy's per-tensor keys depend, so that a mask read back prunes exactly as the one in memory.
        metadata = {"format": "hf_lth.mask", "sparsity": f"{self.sparsity():.6f}", "order": json.dumps(list(self._masks))}
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> TicketMask:
        path = Path(path)
        if not path.is_file():
            raise LTHInputError(f"mask file {path} does not exist.")
        try:
            tensors = load_file(str(path))
            with safe_open(str(path), "pt") as handle:
                order = json.loads((handle.metadata() or {}).get("order", "[]"))
        except Exception as err:  # safetensors raises several types for a broken file
            raise LTHInputError(f"mask file {path} is not a readable safetensors file ({err}).") from err
        not_bool = [name for name, t in tensors.items() if t.dtype != torch.bool]
        if not_bool:
            raise LTHInputError(f"mask file {path} holds non-bool tensors: {not_bool[:5]}.")
        if sorted(order) == sorted(tensors):
            tensors = {name: tensors[name] for name in order}
        return cls(tensors)

    def __repr__(self) -> str:
        return f"TicketMask({len(self)} tensors, {self.num_prunable():,} weights, sparsity={self.sparsity():.2%})"


@torch.no_grad()
def apply_bound_(bound: list[tuple[torch.nn.Parameter, torch.Tensor]]) -> None:
    """Multiply each bound mask into its parameter (its local shard, when sharded) in place (the per-step hot path:
    no host sync)."""
    for param, mask in bound:
        local(param).mul_(as_multiplier(mask))


def as_multiplier(mask: torch.Tensor) -> torch.Tensor:
    """The mask as the cheapest tensor to multiply a float parameter by, without copying it.

    A bool mask is viewed as uint8 (the same bytes, 0 or 1) on CPU and CUDA: `float *= uint8` runs about 4x
    faster than `float *= bool` on CPU (measured: 2.4 ms against 9.5 ms for one BERT-base layer, one thread),
    and the product is the same (w * 1 = w, w * 0 = 0).
    """
    if mask.dtype == torch.bool and mask.device.type in ("cpu", "cuda"):
        return mask.view(torch.uint8)
    return mask


def bind_for_steps(mask: TicketMask, model: torch.nn.Module) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
    """`mask.bind(model)` made ready for the per-step multiplication: masks as multipliers (`as_multiplier`),
    and tensors whose mask keeps every weight left out (multiplying by one changes nothing; decided on the full mask,
    so that every process of a sharded model keeps the same tensors)."""
    whole = {name for name, m in mask.items() if bool(m.all())}
    return [(param, as_multiplier(m)) for name, (param, m) in zip(mask, mask.bind(model)) if name not in whole]
