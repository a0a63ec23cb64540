"""Mask overlap: IoU and the IoU random masks of the same per-tensor sparsities would have."""

import pytest
import torch

from hf_lth import LTHInputError
from hf_lth.analysis import expected_random_iou, iou
from hf_lth.pruning.masks import TicketMask


def mask(**rows) -> TicketMask:
    return TicketMask({name: torch.tensor(values, dtype=torch.bool) for name, values in rows.items()})


def test_iou_counts_weights_kept_by_both_over_kept_by_either():
    a = mask(w=[1, 1, 0, 0], v=[1, 1, 1, 1])
    b = mask(w=[1, 0, 1, 0], v=[1, 1, 1, 1])
    assert iou(a, b) == pytest.approx(5 / 7)  # w: 1 of 3; v: 4 of 4
    assert iou(a, b, exclude={"v"}) == pytest.approx(1 / 3)
    assert iou(a, a) == 1.0


def test_expected_random_iou_matches_sampled_random_masks():
    generator = torch.Generator().manual_seed(0)
    a = mask(w=[1] * 30 + [0] * 70, v=[1] * 40 + [0] * 10)
    b = mask(w=[1] * 50 + [0] * 50, v=[1] * 20 + [0] * 30)
    sampled = []
    for _ in range(2000):
        ra = TicketMask({n: a[n][torch.randperm(a[n].numel(), generator=generator)] for n in a})
        rb = TicketMask({n: b[n][torch.randperm(b[n].numel(), generator=generator)] for n in b})
        sampled.append(iou(ra, rb))
    assert expected_random_iou(a, b) == pytest.approx(sum(sampled) / len(sampled), abs=0.01)


def test_masks_of_other_shapes_are_refused_by_name():
    with pytest.raises(LTHInputError, match=r"masks of w have different shapes, \(4,\) and \(3,\)"):
        iou(mask(w=[1, 0, 1, 0]), mask(w=[1, 0, 1]))
