"""Invariants of masks and pruning, checked by hypothesis over random shapes, weights and fractions.

For every strategy in `PRUNING_STRATEGIES` and for `random_mask_like`:

- masks stay nested over rounds (a pruned weight never returns), even when the weights at pruned positions
  are not zero (as after a rewind, before the mask is applied again);
- pruned counts are exact: `round(fraction * survivors)` go, globally, or per tensor for layer-wise pruning;
- sparsity never decreases;
- magnitude strategies prune no weight larger than one they keep (globally, or within each tensor);
- re-applying a mask is idempotent, and applying it zeroes exactly the pruned weights;
- pruning is deterministic and leaves its inputs untouched; the digest identifies a mask.

Examples are small (at most 4 tensors of at most 60 weights) and bounded in number, to keep CI fast.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.strategies import PRUNING_STRATEGIES, num_to_prune, prune, random_mask_like

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAGNITUDE = ("global_magnitude", "layerwise_magnitude")

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).filter(lambda s: math.prod(s) <= 60)
# Few distinct magnitudes (ties are common) or arbitrary finite float32 values, signs and -0.0 included.
tie_values = st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0])
any_values = st.floats(-1e6, 1e6, allow_nan=False, width=32)
fractions = st.floats(0.0, 1.0)


@st.composite
def weight_sets(draw, min_tensors=1, max_tensors=4):
    """name -> float32 tensor, with the same shape list reused to draw several rounds of weights."""
    n = draw(st.integers(min_tensors, max_tensors))
    # parameter order is not alphabetical order (as in real models: embedding, encoder, classifier)
    names = draw(st.permutations(["embedding.weight", "convs.0.weight", "encoder.weight", "classifier.weight"]))
    return {name: draw(shapes) for name in names[:n]}


@st.composite
def tensors_for(draw, shape_of):
    values = draw(st.sampled_from([tie_values, any_values]))
    out = {}
    for name, shape in shape_of.items():
        flat = draw(st.lists(values, min_size=math.prod(shape), max_size=math.prod(shape)))
        out[name] = torch.tensor(flat, dtype=torch.float32).reshape(shape)
    return out


@st.composite
def random_masks(draw, shape_of):
    out = {}
    for name, shape in shape_of.items():
        bits = draw(st.lists(st.booleans(), min_size=math.prod(shape), max_size=math.prod(shape)))
        out[name] = torch.tensor(bits, dtype=torch.bool).reshape(shape)
    return TicketMask(out)


def dense(shape_of) -> TicketMask:
    return TicketMask({name: torch.ones(shape, dtype=torch.bool) for name, shape in shape_of.items()})


def check_one_step(strategy, weights, mask, fraction, seed):
    """Prune once and check every per-step invariant; return the new mask."""
    weights_before = {k: v.clone() for k, v in weights.items()}
    digest_before = mask.digest()
    new = prune(strategy, weights, mask, fraction, seed=seed)

    # inputs untouched, output well-formed
    assert mask.digest() == digest_before
    assert all(torch.equal(weights[k], weights_before[k]) for k in weights)
    assert list(new) == list(mask)
    assert all(new[k].dtype == torch.bool and new[k].shape == mask[k].shape for k in new)

    # nested, exact counts, sparsity never decreases
    assert new.is_nested_in(mask)
    if strategy == "layerwise_magnitude":
        for name in mask:
            kept = int(mask[name].sum())
            assert kept - int(new[name].sum()) == num_to_prune(fraction, kept), name
    else:
        kept = mask.num_kept()
        assert kept - new.num_kept() == num_to_prune(fraction, kept)
        assert num_to_prune(fraction, kept) == min(kept, round(fraction * kept))
    assert new.sparsity() >= mask.sparsity()

    # magnitude strategies: nothing pruned now is larger than anything kept (globally or per tensor)
    if strategy in MAGNITUDE:
        groups = [[n] for n in mask] if strategy == "layerwise_magnitude" else [list(mask)]
        for names in groups:
            pruned_now = torch.cat([weights[n].abs()[mask[n] & ~new[n]] for n in names])
            kept_now = torch.cat([weights[n].abs()[new[n]] for n in names])
            if pruned_now.numel() and kept_now.numel():
                assert pruned_now.max() <= kept_now.min()

    # deterministic: the same call gives the same mask
    assert prune(strategy, weights, mask, fraction, seed=seed).digest() == new.digest()
    return new


@SETTINGS
@given(data=st.data(), strategy=st.sampled_from(sorted(PRUNING_STRATEGIES)), seed=st.integers(0, 2**16))
def test_rounds_stay_nested_exact_and_monotone(data, strategy, seed):
    shape_of = data.draw(weight_sets())
    mask = dense(shape_of)
    sparsities = [mask.sparsity()]
    for round_index in range(1, data.draw(st.integers(1, 4)) + 1):
        weights = data.draw(tensors_for(shape_of))
        if data.draw(st.booleans()):  # as after training under the mask: pruned weights are zero
            weights = {k: w * mask[k] for k, w in weights.items()}
        fraction = data.draw(fractions)
        new = check_one_step(strategy, weights, mask, fraction, seed + round_index)
        sparsities.append(new.sparsity())
        mask = new
    assert sparsities == sorted(sparsities)


@SETTINGS
@given(data=st.data(), strategy=st.sampled_from(sorted(PRUNING_STRATEGIES)))
def test_pruning_from_any_mask_ignores_pruned_weights(data, strategy):
    """Starting from an arbitrary mask, large weights at pruned positions must not count as survivors."""
    shape_of = data.draw(weight_sets())
    mask = data.draw(random_masks(shape_of))
    weights = data.draw(tensors_for(shape_of))
    weights = {k: torch.where(mask[k], w, torch.full_like(w, 1e30)) for k, w in weights.items()}
    check_one_step(strategy, weights, mask, data.draw(fractions), seed=data.draw(st.integers(0, 100)))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_random_mask_like_keeps_each_tensors_count(data, seed):
    shape_of = data.draw(weight_sets())
    ticket = data.draw(random_masks(shape_of))
    control = random_mask_like(ticket, seed=seed)
    assert list(control) == list(ticket)
    assert control.layer_kept() == ticket.layer_kept()
    assert control.sparsity() == ticket.sparsity()
    assert all(control[k].dtype == torch.bool and control[k].shape == ticket[k].shape for k in ticket)
    assert random_mask_like(ticket, seed=seed).digest() == control.digest()


@SETTINGS
@given(data=st.data())
def test_applying_a_mask_zeroes_exactly_the_pruned_weights_and_is_idempotent(data):
    shape_of = data.draw(weight_sets())
    mask = data.draw(random_masks(shape_of))
    weights = data.draw(tensors_for(shape_of))
    model = torch.nn.Module()
    for i, name in enumerate(shape_of):
        model.register_parameter(f"layer{i}", torch.nn.Parameter(weights[name].clone()))
    # TicketMask names are parameter names: rename to the module's own
    mask = TicketMask({f"layer{i}": mask[name] for i, name in enumerate(shape_of)})
    original = {n: p.detach().clone() for n, p in model.named_parameters()}
    mask.apply_(model)
    once = {n: p.detach().clone() for n, p in model.named_parameters()}
    for name, param in once.items():
        assert torch.equal(param[~mask[name]], torch.zeros_like(param[~mask[name]]))
        assert torch.equal(param[mask[name]], original[name][mask[name]])
    mask.apply_(model)
    for name, param in model.named_parameters():
        assert torch.equal(param.detach(), once[name])  # bitwise (also keeps -0.0 / 0.0 as they were)


@SETTINGS
@given(data=st.data())
def test_digest_identifies_the_mask_and_survives_save_and_load(data):
    shape_of = data.draw(weight_sets())
    mask = data.draw(random_masks(shape_of))
    copy = TicketMask({k: v.clone() for k, v in mask.items()})
    assert copy.digest() == mask.digest()
    name = data.draw(st.sampled_from(list(shape_of)))
    index = data.draw(st.integers(0, mask[name].numel() - 1))
    flipped = {k: v.clone() for k, v in mask.items()}
    flipped[name].view(-1)[index] ^= True
    assert TicketMask(flipped).digest() != mask.digest()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lth_mask.safetensors"
        mask.save(path)
        loaded = TicketMask.load(path)
    assert loaded.digest() == mask.digest()


@settings(SETTINGS, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a failure is reported unshrunk, quickly
@given(data=st.data(), strategy=st.sampled_from(sorted(PRUNING_STRATEGIES)), seed=st.integers(0, 2**16))
def test_a_mask_read_back_from_its_file_prunes_like_the_one_in_memory(data, strategy, seed):
    """A resumed run prunes from the mask it reads back from the last round's folder: that must give the mask an
    uninterrupted run computes (tie-breaking and the random strategy's keys follow the order of the tensors)."""
    shape_of = data.draw(weight_sets(min_tensors=2))
    mask = data.draw(random_masks(shape_of))
    weights = data.draw(tensors_for(shape_of))
    fraction = data.draw(fractions)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lth_mask.safetensors"
        mask.save(path)
        loaded = TicketMask.load(path)
    in_memory = prune(strategy, weights, mask, fraction, seed)
    assert prune(strategy, weights, loaded, fraction, seed).digest() == in_memory.digest()
