import pytest
import torch

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.scope import resolve_prune_scope
from hf_lth.structure import get_granularity

from .models import MODELS


def groups_kept(mask, m=4):
    return torch.cat([t.reshape(-1, m).sum(dim=1) for t in mask.values()])


@pytest.mark.parametrize("family", ["cnn", "bert"])
def test_two_rounds_at_20_percent_reach_exactly_2_of_4_and_then_stop(family):
    model = MODELS[family]()
    granularity = get_granularity("2:4")
    names = granularity.prunable_names(model, resolve_prune_scope(model))
    weights = {name: param.detach() for name, param in model.named_parameters()}
    masks = [TicketMask.dense(model, names)]
    for _ in range(3):
        masks.append(granularity.prune("global_magnitude", weights, masks[-1], 0.2))
    assert [set(groups_kept(m).tolist()) for m in masks] == [{4}, {3}, {2}, {2}]
    assert all(later.is_nested_in(earlier) for earlier, later in zip(masks, masks[1:]))
    for name in names:
        assert granularity.pattern_holds(weights[name] * masks[2][name])
    assert masks[2].sparsity() == 0.5


def test_magnitude_keeps_the_largest_of_each_group():
    granularity = get_granularity("2:4")
    weight = torch.tensor([[0.1, -0.9, 0.5, 0.0, 3.0, 2.0, -1.0, 0.2]])
    mask = TicketMask({"w": torch.ones(1, 8, dtype=torch.bool)})
    pruned = granularity.prune("global_magnitude", {"w": weight}, mask, 0.5)
    assert pruned["w"].tolist() == [[False, True, True, False, True, True, False, False]]


def test_random_like_keeps_each_groups_count():
    model = MODELS["bert"]()
    granularity = get_granularity("1:4")
    names = granularity.prunable_names(model, resolve_prune_scope(model))
    weights = {name: param.detach() for name, param in model.named_parameters()}
    ticket = granularity.prune("global_magnitude", weights, TicketMask.dense(model, names), 0.75)
    control = granularity.random_like(ticket, seed=5)
    assert torch.equal(groups_kept(control), groups_kept(ticket))
    assert control.digest() != ticket.digest()
    assert control.digest() == granularity.random_like(ticket, seed=5).digest()


def test_pattern_check_sees_a_violation():
    granularity = get_granularity("2:4")
    assert granularity.pattern_holds(torch.tensor([[1.0, 0.0, 0.0, 2.0]]))
    assert not granularity.pattern_holds(torch.tensor([[1.0, 1.0, 0.0, 2.0]]))


def test_tensors_that_do_not_split_into_groups_are_named():
    model = MODELS["cnn"]()  # rows of 8, 16, 24 and 12 weights: none a multiple of 5
    with pytest.raises(LTHInputError, match=r"not a multiple of 5: \['embedding.weight \(50, 8\)', 'convs\.0\.weight"):
        get_granularity("2:5").prunable_names(model, resolve_prune_scope(model))
    with pytest.raises(LTHInputError, match="1-D"):
        get_granularity("2:4").prunable_names(model, ["convs.0.bias"])
