import pytest
import torch
from transformers import AutoModelForSequenceClassification

import hf_lth.models  # noqa: F401  (registers TextCNN / TextRNN with the Auto classes)
from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.scope import resolve_prune_scope
from hf_lth.pruning.strategies import prune
from hf_lth.structure import get_granularity, shrink_model

from .models import MODELS

SHRUNK_FIELD = {"cnn": ("num_filters", 6, 3), "lstm": ("hidden_size", 6, 3), "gru": ("hidden_size", 6, 3),
                "bert": ("intermediate_size", 8, 4)}


def channel_ticket(model, fraction=0.5):
    granularity = get_granularity("channel", model)
    names = granularity.prunable_names(model, resolve_prune_scope(model))
    weights = {name: param.detach() for name, param in model.named_parameters()}
    return granularity.prune("global_magnitude", weights, TicketMask.dense(model, names), fraction)


@pytest.mark.parametrize("family", sorted(SHRUNK_FIELD))
def test_the_shrunk_model_gives_the_masked_models_logits_and_reloads(family, tmp_path):
    model = MODELS[family]().eval()
    mask = channel_ticket(model)
    mask.apply_(model)
    ids = torch.randint(1, 50, (5, 12))
    attention = torch.ones_like(ids)
    attention[1, 7:] = 0
    expected = model(input_ids=ids, attention_mask=attention).logits
    result = shrink_model(model, mask)
    field, before, after = SHRUNK_FIELD[family]
    assert result.changed == {field: (before, after)}
    assert getattr(result.model.config, field) == after
    assert sum(p.numel() for p in result.model.parameters()) < sum(p.numel() for p in model.parameters())
    torch.testing.assert_close(result.model(input_ids=ids, attention_mask=attention).logits, expected,
                               rtol=1e-5, atol=1e-6)
    result.model.save_pretrained(tmp_path)
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(reloaded(input_ids=ids, attention_mask=attention).logits, expected,
                               rtol=1e-5, atol=1e-6)
    assert bool(result.kept_as_zeros) == (family == "bert")  # BERT's pruned heads stay as zeros


def test_an_unstructured_mask_is_refused():
    model = MODELS["cnn"]()
    mask = channel_ticket(model, 0.0)
    weights = {name: param.detach() for name, param in model.named_parameters()}
    unstructured = prune("global_magnitude", weights, mask, 0.3)
    with pytest.raises(LTHInputError, match="not whole units"):
        shrink_model(model, unstructured)


def test_layers_with_different_unit_counts_are_refused():
    model = MODELS["cnn"]()
    mask = channel_ticket(model, 0.0)
    masks = {name: m.clone() for name, m in mask.items()}
    masks["convs.0.weight"][0] = False
    masks["classifier.weight"][:, 0] = False
    with pytest.raises(LTHInputError, match=r"different numbers of units \(\[5, 6\]\)"):
        shrink_model(model, TicketMask(masks))


def test_heads_can_be_removed_in_memory_with_the_same_logits():
    model = MODELS["bert"]().eval()
    mask = channel_ticket(model)
    mask.apply_(model)
    ids = torch.randint(1, 50, (3, 12))
    result = shrink_model(model, mask, remove_heads=True)
    assert not result.loadable and result.kept_as_zeros == []
    query = result.model.bert.encoder.layer[0].attention.self.query
    assert query.out_features == model.config.hidden_size // 2  # one head of two left
    torch.testing.assert_close(result.model(input_ids=ids).logits, model(input_ids=ids).logits, rtol=1e-5, atol=1e-6)
