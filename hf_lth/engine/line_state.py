"""A line's published state: what it needs to go on after its run folder is gone, without a single weight.

A study with `publish_masks: true` publishes, beside each line's records and predictions (`hf_lth.study.publish`):

    state/initial_weights.json            the digest of round 0's initial weights (the start `init` rewinds to)
    state/masks/round_03.safetensors      each finished round's mask, and each control's (`KIND_round_03...`)
    state/pending/round_04.safetensors    the mask of the pruned round that was training

all masks packed 8 weights a byte (`hf_lth.pruning.packed`). A machine whose run folder is gone rebuilds the
initial weights (the same model, settings and seed build the same weights; the digest says whether they did) and
goes on from the pending mask: `hf_lth.engine.restore`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ..pruning.masks import TicketMask
from ..pruning.packed import save_packed_mask
from ..storage.atomic import write_json_atomic
from ..storage.folder import ExperimentFolder

_PENDING_FILE = re.compile(r"^round_(\d{2,})\.safetensors$")


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the tensors of a state dict (names, dtypes, shapes and bytes), in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(state[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def published_initial_digest(published: ExperimentFolder) -> str | None:
    """The digest of round 0's initial weights that `published` holds (None: it holds no state)."""
    path = published.published_initial_weights_path
    return json.loads(path.read_text(encoding="utf-8"))["sha256"] if path.is_file() else None


def publish_line_state(source: ExperimentFolder, target: ExperimentFolder) -> list[Path]:
    """Publish the state of the line `source` (a run folder's line) into `target` (its published copy); return the
    files written. Only what changed is written: masks are compared by digest."""
    written: list[Path] = []
    initial, published = source.rewind_path(0), target.published_initial_weights_path
    # (hashed again only when the rewind point is newer than its published digest: a running line is published often)
    if source.branch is None and initial.is_file() and (
            not published.is_file() or published.stat().st_mtime_ns < initial.stat().st_mtime_ns):
        digest = weights_digest(load_file(str(initial)))
        if published_initial_digest(target) != digest:
            write_json_atomic(published, {"sha256": digest, "step": 0})
            written.append(published)
        else:
            published.touch()  # up to date: not hashed again until the rewind point changes
    finished = [(index, None) for index in source.finished_rounds() if index > 0 or source.branch is None]
    finished += [(index, kind) for kind in source.control_names() for index in source.finished_rounds(kind)]
    for index, kind in finished:
        path = target.published_mask_path(index, kind)
        if _packed_digest(path) != source.record(index, kind)["mask_sha256"]:
            written.append(save_packed_mask(TicketMask.load(source.mask_path(index, kind)), path))
    done = {index for index, kind in finished if kind is None}
    pending_dir = source.pending_mask_path(1).parent
    for path in sorted(pending_dir.iterdir()) if pending_dir.is_dir() else []:
        match = _PENDING_FILE.match(path.name)
        if match and int(match.group(1)) not in done:
            out = target.published_pending_path(int(match.group(1)))
            if _packed_digest(out) != _packed_digest(path):
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
                written.append(out)
    published_pending = target.published_pending_path(1).parent
    for path in sorted(published_pending.iterdir()) if published_pending.is_dir() else []:
        match = _PENDING_FILE.match(path.name)
        if match and int(match.group(1)) in done:  # that round finished: its own mask is published
            path.unlink()
    return written


def _packed_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        return (handle.metadata() or {}).get("sha256")
