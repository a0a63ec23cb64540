"""The pieces of the instability analysis: the path between two copies and the instability of its errors."""

import pytest
import torch

from hf_lth.analysis.instability import instability_of, interpolate


def test_interpolation_ends_at_each_copy_and_keeps_integer_buffers():
    a = {"w": torch.tensor([0.0, 2.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([4.0, -2.0]), "ids": torch.tensor([5, 6])}
    assert torch.equal(interpolate(a, b, 0.0)["w"], a["w"]) and torch.equal(interpolate(a, b, 1.0)["w"], b["w"])
    assert torch.equal(interpolate(a, b, 0.25)["w"], torch.tensor([1.0, 1.0]))
    assert torch.equal(interpolate(a, b, 0.5)["ids"], a["ids"])


def test_instability_is_the_barrier_above_the_mean_of_the_ends():
    assert instability_of([0.10, 0.30, 0.20, 0.14]) == pytest.approx(0.30 - 0.12)
    assert instability_of([0.2, 0.1, 0.2]) == pytest.approx(0.0)  # a path below its ends: no barrier
