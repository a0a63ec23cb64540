"""One process of a 2-process gloo group that checks `hf_lth.pruning.sharded` and the sharded paths of masks and
weights against the same model unsharded (test-only; started by tests/pruning/test_sharded.py).

The model's first layer has 64 output rows, so FSDP2 (`fully_shard` on a 1-D CPU mesh of 2) gives each process 32 of
them. Every check compares with what one process computes on the unsharded model; each process writes what it found
to `<out>/rank<r>.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from hf_lth.engine.callbacks import TicketMaskCallback
from hf_lth.engine.round_state import RoundState
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.sharded import full_weights, local, shard_like
from hf_lth.pruning.strategies import prune
from hf_lth.storage.weights import full_state_dict, is_sharded, load_state_in_place, own_class

NAMES = ["0.weight", "2.weight"]


def model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 16, generator=g), torch.randint(0, 4, (8,), generator=g)


def grads(net: torch.nn.Module) -> None:
    x, y = batch()
    torch.nn.functional.cross_entropy(net(x), y).backward()


def full(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def worker(rank: int, world_size: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    try:
        found = checks(rank)
        dist.barrier()  # neither process leaves the group while the other still talks to it
    finally:
        dist.destroy_process_group()
    Path(out, f"rank{rank}.json").write_text(json.dumps(found))


def checks(rank: int) -> dict:
    found: dict = {}
    plain = model()
    reference = {name: plain.get_parameter(name).detach().clone() for name in NAMES}
    dense = TicketMask.dense(plain, NAMES)
    expected = {s: prune(s, reference, dense, 0.5) for s in ("global_magnitude", "layerwise_magnitude", "random")}
    masked = model()
    expected["global_magnitude"].apply_(masked)
    grads(masked)
    reference_grads = {n: masked.get_parameter(n).grad * expected["global_magnitude"][n] for n in NAMES}
    rewound = model().state_dict()

    net = fully_shard(model(), mesh=init_device_mesh("cpu", (dist.get_world_size(),)))
    found["sharded"] = is_sharded(net)
    found["local_rows"] = {n: list(local(net.get_parameter(n)).shape) for n in NAMES}

    # the global threshold: the full weights, and the masks every strategy selects from them
    weights = full_weights(net, NAMES)
    found["full_weights_equal"] = all(torch.equal(weights[n], reference[n]) for n in NAMES)
    found["masks_equal"] = {s: prune(s, weights, dense, 0.5).digest() == m.digest() for s, m in expected.items()}

    # the mask cut as each parameter's shard, and applied to the shards
    mask = expected["global_magnitude"]
    found["slices_equal"] = all(
        torch.equal(shard_like(mask[n], net.get_parameter(n)), mask[n].chunk(dist.get_world_size())[rank])
        for n in NAMES)
    mask.apply_(net)
    found["applied_equal"] = all(torch.equal(full(net.get_parameter(n).detach()), masked.get_parameter(n).detach())
                                 for n in NAMES)

    # gradients masked on the sharded parameters, as FSDP2 writes them
    callback = TicketMaskCallback(RoundState(1, mask))
    callback.on_train_begin(None, SimpleNamespace(global_step=0, stateful_callbacks=None), None, model=net)
    grads(net)
    found["grads_equal"] = all(
        torch.allclose(full(net.get_parameter(n).grad), reference_grads[n], atol=1e-7) for n in NAMES)
    found["pruned_grads_zero"] = all(
        not bool(full(net.get_parameter(n).grad)[~mask[n]].any()) for n in NAMES)
    callback.on_train_end(None, None, None)

    # rewinding into the shards, and the full state dict gathered on process 0 only
    load_state_in_place(net, rewound, "the rewind point")
    state = full_state_dict(net)
    found["state_keys"] = sorted(state)
    found["state_equal"] = bool(state) and all(torch.equal(state[k], rewound[k]) for k in rewound)
    found["rewound_equal"] = all(torch.equal(full(v.detach()), rewound[k]) for k, v in net.state_dict().items())
    with own_class(net):
        found["own_class"] = type(net).__name__
    found["class_after"] = type(net).__name__
    found["plain_sharded"] = is_sharded(plain)
    return found
