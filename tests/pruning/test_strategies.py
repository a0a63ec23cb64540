import pytest
import torch

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.strategies import PRUNING_STRATEGIES, num_to_prune, prune, random_mask_like


def _weights(seed=0, with_ties=False):
    g = torch.Generator().manual_seed(seed)
    weights = {"a.weight": torch.randn(40, 30, generator=g), "b.weight": torch.randn(7, 11, generator=g), "c.weight": torch.randn(50, generator=g)}
    if with_ties:  # many exactly equal magnitudes of both signs, across tensors
        for name, w in weights.items():
            w.copy_(torch.round(w * 2) / 2)
    return weights


def _dense(weights):
    return TicketMask({n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()})


def _reference_global(weights, mask, fraction):
    """Stable sort of survivors' magnitudes in parameter order, then flat index: the first k go."""
    names = list(mask)
    scores = torch.cat([weights[n].abs().flatten() for n in names])
    alive = torch.cat([mask[n].flatten() for n in names])
    k = num_to_prune(fraction, int(alive.sum()))
    order = torch.sort(torch.where(alive, scores, torch.inf), stable=True).indices
    keep = alive.clone()
    keep[order[:k]] = False
    out, offset = {}, 0
    for n in names:
        size = mask[n].numel()
        out[n] = keep[offset : offset + size].view(mask[n].shape)
        offset += size
    return out


@pytest.mark.parametrize("with_ties", [False, True])
def test_global_magnitude_matches_stable_sort_reference_over_rounds(with_ties):
    weights = _weights(with_ties=with_ties)
    mask = _dense(weights)
    for _ in range(6):
        expected = _reference_global(weights, mask, 0.2)
        survivors = mask.num_kept()
        new = prune("global_magnitude", weights, mask, 0.2)
        assert new.num_kept() == survivors - round(0.2 * survivors)
        assert new.is_nested_in(mask)
        for name in mask:
            assert torch.equal(new[name], expected[name]), name
        mask = new


def test_already_pruned_weights_are_never_counted_again():
    weights = _weights()
    mask = prune("global_magnitude", weights, _dense(weights), 0.5)
    # Pruned weights are zero in a masked model: they must not be taken as the smallest survivors.
    masked = {n: w * mask[n] for n, w in weights.items()}
    new = prune("global_magnitude", masked, mask, 0.5)
    assert new.num_kept() == mask.num_kept() - round(0.5 * mask.num_kept())


def test_layerwise_prunes_each_tensor_by_the_same_fraction():
    weights = _weights(with_ties=True)
    mask = _dense(weights)
    for _ in range(4):
        before = mask.layer_kept()
        new = prune("layerwise_magnitude", weights, mask, 0.2)
        for name, kept in new.layer_kept().items():
            assert kept == before[name] - round(0.2 * before[name])
            # within a tensor, the global reference on that tensor alone gives the same mask
            ref = _reference_global({name: weights[name]}, TicketMask({name: mask[name]}), 0.2)[name]
            assert torch.equal(new[name], ref)
        mask = new


def test_magnitude_pruning_removes_smallest_and_keeps_large_negative_weights():
    weights = {"w": torch.tensor([-5.0, 0.1, -0.2, 3.0, 0.05, -4.0])}
    new = prune("global_magnitude", weights, _dense(weights), 0.5)
    assert new["w"].tolist() == [True, False, False, True, False, True]


def test_random_strategy_is_seeded_and_exact():
    weights = _weights()
    a = prune("random", weights, _dense(weights), 0.3, seed=1)
    b = prune("random", weights, _dense(weights), 0.3, seed=1)
    c = prune("random", weights, _dense(weights), 0.3, seed=2)
    total = _dense(weights).num_kept()
    assert a.num_kept() == total - round(0.3 * total)
    assert a.digest() == b.digest() != c.digest()


def test_random_mask_like_keeps_per_layer_counts_but_not_positions():
    weights = _weights()
    ticket = prune("global_magnitude", weights, _dense(weights), 0.6)
    control = random_mask_like(ticket, seed=3)
    assert control.layer_kept() == ticket.layer_kept()
    assert control.digest() != ticket.digest()


def test_unknown_strategy_and_bad_fraction_are_clear_errors():
    weights = _weights()
    with pytest.raises(LTHInputError, match="unknown pruning strategy 'biggest'"):
        prune("biggest", weights, _dense(weights), 0.2)
    with pytest.raises(LTHInputError, match=r"in \[0, 1\], got 1.5"):
        prune("global_magnitude", weights, _dense(weights), 1.5)
    assert set(PRUNING_STRATEGIES) == {"global_magnitude", "layerwise_magnitude", "random"}
