import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from hf_lth.errors import LTHInputError
from hf_lth.pruning.scope import resolve_prune_scope


def test_bert_default_scope_is_the_encoder_linear_weights():
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16)
    names = resolve_prune_scope(BertForSequenceClassification(config))
    assert len(names) == 2 * 6
    assert all(n.startswith("bert.encoder.layer.") and n.endswith(".weight") for n in names)
    assert not any("LayerNorm" in n or "embeddings" in n or "pooler" in n or "classifier" in n for n in names)


def test_patterns_include_and_exclude():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 2))
    assert resolve_prune_scope(model, "weight") == ["0.weight", "1.weight"]
    assert resolve_prune_scope(model, "weight,!^1\\.") == ["0.weight"]
    assert resolve_prune_scope(model, "auto") == ["0.weight", "1.weight"]


def test_scope_matching_nothing_or_bad_regex_is_clear():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3))
    with pytest.raises(LTHInputError, match="matches no parameter.*0.weight"):
        resolve_prune_scope(model, "encoder")
    with pytest.raises(LTHInputError, match="not a valid regular expression"):
        resolve_prune_scope(model, "weight[")
