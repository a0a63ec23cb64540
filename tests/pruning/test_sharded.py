"""`hf_lth.pruning.sharded` and the sharded paths of masks and weights: FSDP2 over 2 gloo processes on the CPU gives
the same masks, masked weights and gradients, rewound weights and full state dicts as one unsharded process; a plain
model passes through untouched."""

from __future__ import annotations

import json

import pytest
import torch
import torch.multiprocessing as mp

from helpers import sharded_worker
from hf_lth.pruning.sharded import full_weights, local, shard_like
from hf_lth.storage.weights import full_state_dict, is_sharded, own_class


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """What each of 2 FSDP2 processes found (`helpers/sharded_worker.py`), by rank."""
    root = tmp_path_factory.mktemp("sharded")
    mp.spawn(sharded_worker.worker, args=(2, str(root / "store"), str(root)), nprocs=2, join=True)
    return [json.loads((root / f"rank{rank}.json").read_text()) for rank in range(2)]


@pytest.mark.slow  # starts two processes
def test_each_process_holds_half_of_the_rows(two_ranks):
    for found in two_ranks:
        assert found["sharded"] and not found["plain_sharded"]
        assert found["local_rows"] == {"0.weight": [32, 16], "2.weight": [2, 64]}


@pytest.mark.slow
def test_every_process_selects_the_unsharded_mask(two_ranks):
    for found in two_ranks:
        assert found["full_weights_equal"]
        assert found["masks_equal"] == {"global_magnitude": True, "layerwise_magnitude": True, "random": True}


@pytest.mark.slow
def test_masks_apply_to_each_shard_and_its_gradient(two_ranks):
    for found in two_ranks:
        assert found["slices_equal"] and found["applied_equal"]
        assert found["grads_equal"] and found["pruned_grads_zero"]


@pytest.mark.slow
def test_rewinding_fills_the_shards_and_process_0_alone_gets_the_full_state(two_ranks):
    for found in two_ranks:
        assert found["rewound_equal"]
    assert two_ranks[0]["state_equal"] and two_ranks[0]["state_keys"] == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert two_ranks[1]["state_keys"] == []


@pytest.mark.slow
def test_a_sharded_model_is_saved_under_its_own_class(two_ranks):
    for found in two_ranks:
        assert (found["own_class"], found["class_after"]) == ("Sequential", "FSDPSequential")


def test_a_plain_model_passes_through_unchanged():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    param = model[0].weight
    mask = torch.rand(8, 4) > 0.5
    assert not is_sharded(model)
    assert local(param) is param
    assert torch.equal(shard_like(mask, param), mask)
    weights = full_weights(model, ["1.weight", "0.weight"])
    assert list(weights) == ["1.weight", "0.weight"]
    assert weights["0.weight"].data_ptr() == param.data_ptr() and not weights["0.weight"].requires_grad
    state = full_state_dict(model)
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with own_class(model) as same:
        assert same is model and type(model) is torch.nn.Sequential
