import pytest
import torch

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.scope import resolve_prune_scope
from hf_lth.structure import get_granularity
from hf_lth.structure.channel import set_units, unit_alive

from .models import MODELS, tiny_cnn


def channel_setup(model):
    granularity = get_granularity("channel", model)
    names = granularity.prunable_names(model, resolve_prune_scope(model))
    weights = {name: param.detach() for name, param in model.named_parameters()}
    return granularity, TicketMask.dense(model, names), weights


def assert_whole_units(granularity, mask):
    """Every unit is kept or pruned whole: rebuilding the mask from the units' states gives it back."""
    rebuilt = {name: torch.ones_like(m) for name, m in mask.items()}
    for unit_set in granularity.unit_sets(mask):
        set_units(rebuilt, unit_set, torch.nonzero(~unit_alive(mask, unit_set)).flatten(), False)
    assert all(torch.equal(rebuilt[name], mask[name]) for name in mask)


@pytest.mark.parametrize("family", sorted(MODELS))
def test_rounds_remove_the_same_fraction_of_whole_units_in_every_set_and_stay_nested(family):
    model = MODELS[family]()
    granularity, mask, weights = channel_setup(model)
    sizes = {s.name: s.size for s in granularity.unit_sets(mask)}
    first = granularity.prune("global_magnitude", weights, mask, 0.5)
    second = granularity.prune("global_magnitude", weights, first, 0.5)
    assert_whole_units(granularity, first)
    assert_whole_units(granularity, second)
    assert second.is_nested_in(first) and first.is_nested_in(mask)
    kept = granularity.units_kept(first)
    assert kept == {name: size - round(0.5 * size) for name, size in sizes.items()}
    assert granularity.describe(second) == {"units_kept": {name: n - round(0.5 * n) for name, n in kept.items()}}


def test_the_units_with_the_smallest_mean_magnitude_go_first():
    model = tiny_cnn()
    with torch.no_grad():
        model.convs[0].weight[4].mul_(1e-3)
        model.convs[1].weight[1].mul_(1e-3)
    granularity, mask, weights = channel_setup(model)
    pruned = granularity.prune("global_magnitude", weights, mask, 1 / 6)  # one filter of six per width
    assert unit_alive(pruned, granularity.unit_sets(pruned)[0]).tolist() == [True, True, True, True, False, True]
    assert unit_alive(pruned, granularity.unit_sets(pruned)[1]).tolist() == [True, False, True, True, True, True]
    # the classifier columns that read the pruned filters go with them
    assert not pruned["classifier.weight"][:, 4].any() and not pruned["classifier.weight"][:, 6 + 1].any()
    assert pruned["classifier.weight"][:, 5].all()


@pytest.mark.parametrize("family", sorted(MODELS))
def test_random_like_draws_other_whole_units_with_the_same_counts(family):
    model = MODELS[family]()
    granularity, mask, weights = channel_setup(model)
    ticket = granularity.prune("global_magnitude", weights, mask, 0.5)
    control = granularity.random_like(ticket, seed=3)
    assert_whole_units(granularity, control)
    assert granularity.describe(control) == granularity.describe(ticket)
    assert control.digest() == granularity.random_like(ticket, seed=3).digest()
    draws = {granularity.random_like(ticket, seed=s).digest() for s in range(6)}
    assert len(draws) > 1


def test_random_strategy_prunes_random_units():
    model = tiny_cnn()
    granularity, mask, weights = channel_setup(model)
    a = granularity.prune("random", weights, mask, 0.5, seed=1)
    b = granularity.prune("random", weights, mask, 0.5, seed=2)
    assert_whole_units(granularity, a)
    assert granularity.describe(a) == granularity.describe(b)
    assert a.digest() != b.digest()


def test_the_embedding_stays_dense_and_out_of_the_mask():
    model = tiny_cnn()
    granularity, mask, _ = channel_setup(model)
    assert list(mask) == ["convs.0.weight", "convs.1.weight", "classifier.weight"]


def test_errors_name_the_problem():
    model = tiny_cnn()
    with pytest.raises(LTHInputError, match="leaves out the weights of every unit set"):
        get_granularity("channel", model).prunable_names(model, ["embedding.weight"])
    with pytest.raises(LTHInputError, match="is none of them"):
        get_granularity("channel", torch.nn.Linear(3, 3))
    granularity, mask, weights = channel_setup(model)
    with pytest.raises(LTHInputError, match="lth_strategy must be one of"):
        granularity.prune("taylor", weights, mask, 0.5)
    with pytest.raises(LTHInputError, match="N:M with 0 < N < M"):
        get_granularity("4:2")
