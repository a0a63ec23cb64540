"""How much two tickets' masks agree: intersection over union of the weights they keep, beside what two random
masks with the same per-tensor sparsities would give."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from ..report.results import load_results
from ..storage.folder import ExperimentFolder


def shared_tensors(a: TicketMask, b: TicketMask, exclude: Iterable[str] = ()) -> list[str]:
    """The tensors both masks hold, minus `exclude`; raises `LTHInputError` if one of them differs in shape."""
    skip = set(exclude)
    names = [name for name in a if name in set(b) and name not in skip]
    for name in names:
        if a[name].shape != b[name].shape:
            raise LTHInputError(f"the masks of {name} have different shapes, {tuple(a[name].shape)} and "
                                f"{tuple(b[name].shape)}: they are not masks of the same model.")
    return names


def iou(a: TicketMask, b: TicketMask, exclude: Iterable[str] = ()) -> float:
    """|kept by both| / |kept by either|, over the tensors the two masks share (minus `exclude`)."""
    names = shared_tensors(a, b, exclude)
    both = sum(int((a[n] & b[n]).sum()) for n in names)
    either = sum(int((a[n] | b[n]).sum()) for n in names)
    return both / either if either else 1.0


def expected_random_iou(a: TicketMask, b: TicketMask, exclude: Iterable[str] = ()) -> float:
    """The IoU two independent uniformly random masks would have, keeping as many weights per tensor as `a` and
    `b` do: a tensor of n weights keeping k_a and k_b shares k_a * k_b / n on average (ratio of the expected
    intersection to the expected union, summed over tensors)."""
    names = shared_tensors(a, b, exclude)
    both = either = 0.0
    for name in names:
        n, ka, kb = a[name].numel(), int(a[name].sum()), int(b[name].sum())
        shared = ka * kb / n
        both += shared
        either += ka + kb - shared
    return both / either if either else 1.0


def line_masks(folder: str | Path, line: str | None = None) -> dict[int, TicketMask]:
    """The mask of every finished pruned round of one line (`line`: None for the main line, else a branch)."""
    experiment = ExperimentFolder(folder, line)
    return {index: TicketMask.load(experiment.mask_path(index))
            for index in experiment.finished_rounds() if index > 0}


def _pair(a: TicketMask, b: TicketMask, exclude: Iterable[str] = ()) -> dict[str, float]:
    return {"iou": iou(a, b, exclude), "random_iou": expected_random_iou(a, b, exclude)}


def _mean(pairs: list[dict[str, float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"pairs": len(pairs)}
    for key in ("iou", "random_iou"):
        values = [p[key] for p in pairs]
        summary[key] = statistics.fmean(values)
        summary[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    return summary


def overlap_between_seeds(folders: list[str | Path], lines: list[str | None], index: int) -> dict[str, Any]:
    """For each line: the IoU of round `index`'s masks between every two seeds (mean ± std over the pairs).

    Embeddings are left out: each seed trains its own tokenizer, so row i is another word in another seed.
    """
    embeddings = {name for folder in folders for name in _embedding_names(folder)}
    result = {}
    for line in lines:
        masks = [line_masks(folder, line).get(index) for folder in folders]
        pairs = [_pair(a, b, embeddings) for a, b in itertools.combinations([m for m in masks if m is not None], 2)]
        if pairs:
            result[line or "main"] = _mean(pairs)
    return result


def overlap_between_lines(folders: list[str | Path], lines: list[str | None], index: int) -> dict[str, Any]:
    """For every two lines: the IoU of their round-`index` masks within the same seed (mean ± std over seeds)."""
    per_seed = [{line: line_masks(folder, line).get(index) for line in lines} for folder in folders]
    result = {}
    for first, second in itertools.combinations(lines, 2):
        pairs = [_pair(seed[first], seed[second]) for seed in per_seed
                 if seed[first] is not None and seed[second] is not None]
        if pairs:
            result[f"{first or 'main'} vs {second or 'main'}"] = _mean(pairs)
    return result


def _embedding_names(folder: str | Path) -> list[str]:
    rounds = load_results(folder)["rounds"]
    return rounds[0].get("embedding_parameters", []) if rounds else []
