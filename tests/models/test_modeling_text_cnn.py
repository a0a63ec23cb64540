import inspect
import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification

PAD, VOCAB = 0, 60  # as in conftest.py


def tiny_config(**kwargs) -> TextCNNConfig:
    values = {
        "vocab_size": VOCAB,
        "embedding_dim": 16,
        "num_filters": 12,
        "filter_sizes": (2, 3, 4),
        "pad_token_id": PAD,
    }
    return TextCNNConfig(**{**values, **kwargs})


def tiny_model(seed: int = 0, **kwargs) -> TextCNNForSequenceClassification:
    torch.manual_seed(seed)
    return TextCNNForSequenceClassification(tiny_config(**kwargs))


def test_config_defaults_are_the_seed_cnn():
    config = TextCNNConfig()
    assert (config.vocab_size, config.embedding_dim, config.num_filters) == (25000, 100, 100)
    assert config.filter_sizes == [3, 4, 5] and config.dropout == 0.5 and config.pad_token_id == 0
    assert json.loads(config.to_json_string())["filter_sizes"] == [3, 4, 5]


def test_forward_backward_with_labels(texts, right_pad):
    model = tiny_model()
    input_ids, attention_mask = right_pad(texts)
    labels = torch.tensor([0, 1, 1, 0, 1])
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert out.logits.shape == (5, 2)
    assert out.loss.shape == ()
    assert torch.isclose(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    out.loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_forward_without_labels_and_as_tuple(texts, right_pad):
    model = tiny_model().eval()
    input_ids, attention_mask = right_pad(texts)
    out = model(input_ids, attention_mask)
    assert out.loss is None
    (logits,) = model(input_ids, attention_mask, return_dict=False)
    assert torch.equal(logits, out.logits)
    loss, _ = model(input_ids, attention_mask, labels=torch.zeros(5, dtype=torch.long), return_dict=False)
    assert loss.shape == ()


def test_num_labels_and_id2label():
    id2label = {0: "neg", 1: "neutral", 2: "pos"}
    model = tiny_model(id2label=id2label, label2id={v: k for k, v in id2label.items()})
    assert model.config.num_labels == 3 and model.config.id2label == id2label
    assert model(torch.tensor([[5, 6, 7, 8]])).logits.shape == (1, 3)


def test_one_label_is_regression():
    model = tiny_model(num_labels=1)
    out = model(torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]]), labels=torch.tensor([0.5, -1.0]))
    assert model.config.problem_type == "regression"
    assert torch.isclose(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(-1), torch.tensor([0.5, -1.0])))


def test_padding_does_not_leak(texts, right_pad, randomize):
    model = tiny_model().eval()
    randomize(model)  # non-zero biases and padding row: any leak would change the logits
    input_ids, attention_mask = right_pad(texts)
    with torch.no_grad():
        batched = model(input_ids, attention_mask).logits
        unmasked = model(input_ids).logits
        for row, text in enumerate(texts):
            alone = model(text.unsqueeze(0)).logits[0]
            assert torch.allclose(alone, batched[row], atol=1e-5), f"text of length {len(text)}"
    # Sanity check of the test itself: without the mask the padding does change the short texts.
    assert not torch.allclose(unmasked[0], batched[0], atol=1e-3)


def test_forward_takes_named_arguments_only():
    # No **kwargs: Trainer then does not treat the model as one that scales its loss by num_items_in_batch.
    kinds = {p.kind for p in inspect.signature(TextCNNForSequenceClassification.forward).parameters.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds


def test_seeded_init_is_deterministic():
    a, b, c = tiny_model(seed=7).state_dict(), tiny_model(seed=7).state_dict(), tiny_model(seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["embedding.weight"], c["embedding.weight"])
    assert not torch.equal(a["convs.0.weight"], c["convs.0.weight"])


def test_init_scheme():
    model = tiny_model(embedding_dim=32, num_filters=32)
    assert torch.equal(model.embedding.weight[PAD], torch.zeros(32))
    vocab = model.config.vocab_size
    assert model.embedding.weight[1:].std().item() == pytest.approx((2.0 / (vocab + 32)) ** 0.5, rel=0.15)
    for conv, k in zip(model.convs, model.config.filter_sizes, strict=True):
        assert torch.equal(conv.bias, torch.zeros_like(conv.bias))
        xavier_std = (2.0 / (32 * k + 32 * k)) ** 0.5
        assert conv.weight.std().item() == pytest.approx(xavier_std, rel=0.15)
    assert torch.equal(model.classifier.bias, torch.zeros_like(model.classifier.bias))


def test_save_and_auto_load_roundtrip(tmp_path, texts, right_pad):
    model = tiny_model().eval()
    model.save_pretrained(tmp_path)
    loaded, info = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert isinstance(loaded, TextCNNForSequenceClassification)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert not info["error_msgs"]
    expected, saved = model.state_dict(), loaded.state_dict()
    assert all(torch.equal(expected[k], saved[k]) for k in expected)
    input_ids, attention_mask = right_pad(texts)
    with torch.no_grad():
        assert torch.equal(model(input_ids, attention_mask).logits, loaded.eval()(input_ids, attention_mask).logits)
