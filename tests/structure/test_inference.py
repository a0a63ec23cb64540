"""The TextCNN's inference path (`fuse_for_inference`): the training forward's logits, faster kernels."""

import pytest
import torch

from hf_lth.errors import LTHInputError
from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification
from hf_lth.structure import TextCNNForInference, fuse_for_inference, shrink_model

from .models import MODELS
from .test_shrink import channel_ticket


def cnn(widths=(2, 3, 5), seed=0):
    torch.manual_seed(seed)
    config = TextCNNConfig(vocab_size=50, embedding_dim=8, num_filters=6, filter_sizes=list(widths), num_labels=3)
    model = TextCNNForSequenceClassification(config).eval()
    with torch.no_grad():  # non-zero biases, so that taking the max before the bias is checked
        for conv in model.convs:
            conv.bias.normal_()
    return model


def batches():
    torch.manual_seed(1)
    ids = torch.randint(1, 50, (6, 12))
    attention = torch.ones_like(ids)
    attention[1, 7:] = 0  # padded
    attention[2, 2:] = 0  # shorter than the narrower filters
    attention[3, 4:] = 0  # shorter than the widest filter only
    return {"no padding": (ids, None), "ones": (ids, torch.ones_like(ids)), "padded": (ids, attention),
            "shorter than the widest filter": (ids[:, :3], None)}


@pytest.mark.parametrize("fuse_widths", [True, False])
@pytest.mark.parametrize("widths", [(2, 3, 5), (3,), (4, 2)])
@pytest.mark.parametrize("case", sorted(batches()))
def test_the_inference_path_gives_the_training_forwards_logits(widths, fuse_widths, case):
    model = cnn(widths)
    ids, attention = batches()[case]
    fast = fuse_for_inference(model, fuse_widths=fuse_widths)
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=attention).logits
        got = fast(input_ids=ids, attention_mask=attention).logits
    assert got.dtype == torch.float32 and got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_a_shrunk_ticket_on_the_inference_path_gives_the_masked_tickets_logits():
    model = MODELS["cnn"]().eval()
    mask = channel_ticket(model)
    mask.apply_(model)
    ids, attention = batches()["padded"]
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=attention).logits
        small = fuse_for_inference(shrink_model(model, mask).model)
        torch.testing.assert_close(small(input_ids=ids, attention_mask=attention).logits, expected,
                                   rtol=1e-5, atol=1e-6)
    assert sum(w.shape[0] for w in small.conv_weights) == sum(c.out_channels for c in model.convs) // 2


def test_bf16_runs_in_bf16_and_stays_close():
    model = cnn()
    fast = fuse_for_inference(model, dtype=torch.bfloat16)
    assert fast.dtype == torch.bfloat16 and all(p.dtype == torch.bfloat16 for p in fast.parameters())
    ids, attention = batches()["padded"]
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=attention).logits
        got = fast(input_ids=ids, attention_mask=attention).logits
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=0.05, atol=0.05)
    assert not torch.equal(got, expected)  # it did compute in bf16


def test_the_source_model_is_left_as_it_was():
    model = cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = fuse_for_inference(model)
    with torch.no_grad():
        model.convs[0].weight.zero_()  # later changes to the source do not reach the copy
    assert isinstance(fast, TextCNNForInference) and not any(p.requires_grad for p in fast.parameters())
    assert fast.conv_weights[0].abs().sum() > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items() if not k.startswith("convs.0.weight"))
    assert model.training is False and model.convs[0].weight.requires_grad


def test_other_models_and_dtypes_are_refused():
    with pytest.raises(LTHInputError, match="TextRNNForSequenceClassification"):
        fuse_for_inference(MODELS["lstm"]())
    with pytest.raises(LTHInputError, match="torch.int64"):
        fuse_for_inference(cnn(), dtype=torch.int64)
