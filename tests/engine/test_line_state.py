"""A line's published state (`hf_lth.engine.line_state`): packed masks of finished rounds, the pending mask of
the round in training (until that round finishes), and the digest of the initial weights; only what changed is
written again."""


import torch

from helpers.tiny import tiny_bert
from hf_lth.engine.line_state import publish_line_state, published_initial_digest, weights_digest
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.packed import load_packed_mask, save_packed_mask
from hf_lth.storage.folder import ExperimentFolder


def _round(folder, model, index, keep):
    names = [n for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2][:2]
    params = dict(model.named_parameters())
    mask = TicketMask({n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(index)) < keep
                       for n in names})
    folder.write_round(index, None, model, {k: v.detach().clone() for k, v in model.state_dict().items()}, mask,
                       {"round": index, "mask_sha256": mask.digest()})
    return mask


def test_the_state_follows_the_line_as_it_goes(tmp_path):
    model = tiny_bert()
    run, out = ExperimentFolder(tmp_path / "run"), ExperimentFolder(tmp_path / "published")
    run.write_rewind_point(0, {k: v.detach().clone() for k, v in model.state_dict().items()})
    masks = {index: _round(run, model, index, keep) for index, keep in [(0, 1.1), (1, 0.9)]}
    pending = TicketMask({n: m & (torch.rand(m.shape, generator=torch.Generator().manual_seed(7)) < 0.9)
                          for n, m in masks[1].items()})
    save_packed_mask(pending, run.pending_mask_path(2))

    written = publish_line_state(run, out)
    assert {p.relative_to(out.root).as_posix() for p in written} == {
        "state/initial_weights.json", "state/masks/round_00.safetensors", "state/masks/round_01.safetensors",
        "state/pending/round_02.safetensors"}
    assert published_initial_digest(out) == weights_digest(model.state_dict())
    assert load_packed_mask(out.published_mask_path(1)).digest() == masks[1].digest()
    assert load_packed_mask(out.published_pending_path(2)).digest() == pending.digest()
    assert publish_line_state(run, out) == []  # nothing changed, nothing written

    _round(run, model, 2, 0.8)  # round 2 finishes: its own mask is published, its pending one goes
    assert not run.pending_mask_path(2).exists()
    written = publish_line_state(run, out)
    assert [p.relative_to(out.root).as_posix() for p in written] == ["state/masks/round_02.safetensors"]
    assert not out.published_pending_path(2).exists()


def test_the_digest_of_weights_sees_every_bit_name_and_shape():
    state = {"a": torch.zeros(4), "b": torch.ones(2, 2, dtype=torch.bfloat16), "c": torch.tensor(3)}
    digest = weights_digest(state)
    assert digest == weights_digest({k: state[k].clone() for k in ("c", "b", "a")})  # the order does not count
    flipped = {**state, "a": torch.tensor([0.0, 0.0, 0.0, -0.0])}  # one sign bit
    assert weights_digest(flipped) != digest
    assert weights_digest({**state, "b": state["b"].reshape(4)}) != digest
    assert weights_digest({"z": state["a"], "b": state["b"], "c": state["c"]}) != digest
