"""Structured lines through the round engine: the masks, controls and records a channel or N:M line writes."""

import pytest
import torch

from helpers.tiny import make_trainer, tiny_bert

from hf_lth.pruning.masks import MASK_FILE, TicketMask
from hf_lth.storage.folder import ExperimentFolder
from hf_lth.structure import get_granularity, shrink_model
from hf_lth.structure.channel import unit_alive


@pytest.mark.slow
def test_a_channel_line_prunes_whole_units_and_its_random_control_keeps_the_counts(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_granularity="channel", lth_prune_rate=0.5,
                           lth_controls="random_pruning", lth_control_rounds="2")
    results = trainer.find_tickets()
    folder = ExperimentFolder(tmp_path / "run")
    masks = [TicketMask.load(folder.round_dir(i) / MASK_FILE) for i in (1, 2)]
    assert masks[1].is_nested_in(masks[0])
    record = results["rounds"][2]
    assert record["granularity"] == "channel"
    assert record["units_kept"] == {"bert.encoder.layer.0.attention heads": 1, "bert.encoder.layer.0.FFN neurons": 8,
                                    "bert.encoder.layer.1.attention heads": 1, "bert.encoder.layer.1.FFN neurons": 8}
    control = TicketMask.load(folder.round_dir(2, "random_pruning") / MASK_FILE)
    model = tiny_bert()
    granularity = get_granularity("channel", model)
    assert granularity.describe(control) == granularity.describe(masks[1])
    assert control.digest() != masks[1].digest()
    # the ticket's model folder shrinks into a model that computes the same logits
    ticket = type(model).from_pretrained(folder.round_dir(2)).eval()
    ids = torch.tensor(dataset["input_ids"][:4])
    shrunk = shrink_model(ticket, masks[1]).model
    torch.testing.assert_close(shrunk(input_ids=ids).logits, ticket(input_ids=ids).logits, rtol=1e-5, atol=1e-6)
    for unit_set in granularity.unit_sets(masks[1]):  # pruned units stayed zero through training
        dead = torch.nonzero(~unit_alive(masks[1], unit_set)).flatten()
        weight = dict(ticket.named_parameters())[unit_set.producers[0].param]
        assert not weight.detach()[unit_set.producers[0].indices(dead).reshape(-1)].any()


@pytest.mark.slow
def test_a_2_of_4_line_reaches_the_pattern_and_says_so(tmp_path, dataset, caplog):
    trainer = make_trainer(tmp_path, dataset, lth_granularity="2:4", lth_rounds=3)
    with caplog.at_level("WARNING"):
        results = trainer.find_tickets()
    sparsities = [round(r["sparsity"], 4) for r in results["rounds"]]
    assert sparsities == [0.0, 0.25, 0.5, 0.5]
    assert "Round 3 prunes nothing" in caplog.text
    ticket = tiny_bert()
    ticket = type(ticket).from_pretrained(ExperimentFolder(tmp_path / "run").round_dir(2))
    granularity = get_granularity("2:4")
    params = dict(ticket.named_parameters())
    assert all(granularity.pattern_holds(params[name]) for name in trainer.prunable_names)


def test_granularity_is_a_line_setting(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=1).find_tickets()
    branch = make_trainer(tmp_path, dataset, lth_rounds=1, lth_granularity="channel", lth_prune_rate=0.5,
                          lth_branch="channel")
    results = branch.find_tickets()  # reuses the trunk's round 0
    assert results["rounds"][1]["granularity"] == "channel"
    with pytest.raises(Exception, match="lth_granularity"):
        make_trainer(tmp_path, dataset, lth_rounds=1, lth_granularity="2:4").find_tickets()


@pytest.mark.slow
def test_a_staged_shrunk_ticket_loads_smaller_without_hf_lth_state_and_gives_the_same_logits(tmp_path, dataset):
    from transformers import AutoModelForSequenceClassification

    from hf_lth.hub.tickets import stage_ticket

    make_trainer(tmp_path, dataset, lth_granularity="channel", lth_prune_rate=0.5).find_tickets()
    staged = stage_ticket(tmp_path / "run", tmp_path / "staged", round_index=2, shrink=True)
    shrunk = AutoModelForSequenceClassification.from_pretrained(staged).eval()
    ticket = AutoModelForSequenceClassification.from_pretrained(ExperimentFolder(tmp_path / "run").round_dir(2)).eval()
    assert (shrunk.config.intermediate_size, ticket.config.intermediate_size) == (8, 32)
    assert not (staged / MASK_FILE).exists()
    ids = torch.tensor(dataset["input_ids"][:4])
    torch.testing.assert_close(shrunk(input_ids=ids).logits, ticket(input_ids=ids).logits, rtol=1e-5, atol=1e-6)
    info = shrunk.config.lth["shrunk"]
    assert info["changed"] == {"intermediate_size": [32, 8]} and info["speedup"] > 0
    card = (staged / "README.md").read_text()
    assert "shrunk into a smaller dense model" in card and f"{info['speedup']:.2f}×" in card
    assert "tokens in fp32, the training forward" in card  # which precision the speed was measured in
    assert "--lth_init_mask" not in card  # no mask to keep training under


@pytest.mark.parametrize("granularity", ["channel", "2:4"])
@pytest.mark.parametrize("method", ["gmp", "early_bird"])
def test_cheaper_methods_find_structured_masks(tmp_path, dataset, granularity, method):
    extra = {"lth_gmp_frequency": 1} if method == "gmp" else {"lth_eb_interval": 1, "lth_eb_window": 2}
    trainer = make_trainer(tmp_path, dataset, lth_granularity=granularity, lth_method=method,
                           lth_target_sparsity=0.5, **extra)
    results = trainer.find_tickets()
    mask = TicketMask.load(ExperimentFolder(tmp_path / "run").round_dir(1) / MASK_FILE)
    model = tiny_bert()
    if granularity == "channel":
        shrink_model(model, mask)  # refuses a mask that is not made of whole units
        assert results["rounds"][1]["units_kept"]["bert.encoder.layer.0.FFN neurons"] < 32
    else:
        assert all(get_granularity("2:4").pattern_holds(mask[name]) for name in mask)
        assert results["rounds"][1]["sparsity"] == 0.5


def test_a_channel_line_resumes_with_more_rounds(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_granularity="channel", lth_prune_rate=0.5, lth_rounds=1).find_tickets()
    results = make_trainer(tmp_path, dataset, lth_granularity="channel", lth_prune_rate=0.5).find_tickets()
    folder = ExperimentFolder(tmp_path / "run")
    masks = [TicketMask.load(folder.round_dir(i) / MASK_FILE) for i in (1, 2)]
    assert masks[1].is_nested_in(masks[0]) and len(results["rounds"]) == 3
    shrink_model(tiny_bert(), masks[1])
