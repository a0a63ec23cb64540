import inspect

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from hf_lth.models import TextRNNConfig, TextRNNForSequenceClassification
from hf_lth.models import modeling_text_rnn

PAD, VOCAB = 0, 60  # as in conftest.py
CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def tiny_config(**kwargs) -> TextRNNConfig:
    values = {"vocab_size": VOCAB, "embedding_dim": 12, "hidden_size": 8, "num_layers": 2, "pad_token_id": PAD}
    return TextRNNConfig(**{**values, **kwargs})


def tiny_model(seed: int = 0, **kwargs) -> TextRNNForSequenceClassification:
    torch.manual_seed(seed)
    return TextRNNForSequenceClassification(tiny_config(**kwargs))


def test_config_defaults_are_the_seed_lstm():
    config = TextRNNConfig()
    assert (config.vocab_size, config.embedding_dim, config.hidden_size, config.num_layers) == (25000, 100, 256, 2)
    assert config.bidirectional is True and config.dropout == 0.5 and config.cell == "lstm"
    assert config.pad_token_id == 0


def test_invalid_cell_is_rejected():
    with pytest.raises(ValueError) as error:
        TextRNNConfig(cell="transformer")
    assert "'transformer'" in str(error.value) and "lstm" in str(error.value) and "gru" in str(error.value)


@pytest.mark.parametrize("cell", CELLS)
def test_forward_backward_with_labels(cell, texts, right_pad):
    model = tiny_model(cell=cell)
    assert isinstance(model.rnn, {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell])
    input_ids, attention_mask = right_pad(texts)
    labels = torch.tensor([0, 1, 1, 0, 1])
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert out.logits.shape == (5, 2) and out.loss.shape == ()
    assert torch.isclose(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    out.loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_invalid_pooling_is_rejected():
    with pytest.raises(ValueError, match="pooling must be one of last, max, mean, got 'attention'"):
        TextRNNConfig(pooling="attention")


def test_pooled_features_are_the_pooled_outputs(texts, right_pad):
    """max/mean pooling read the last layer's outputs over the real tokens only."""
    model = tiny_model(cell="gru", num_layers=1, pooling="max").eval()
    text = texts[3]
    with torch.no_grad():
        outputs, _ = torch.nn.GRU.forward(model.rnn, model.embedding(text.unsqueeze(0)))  # torch's own recurrence
        for pooling, expected in (("max", outputs[0].amax(0)), ("mean", outputs[0].mean(0))):
            model.config.pooling = pooling
            assert torch.allclose(model(text.unsqueeze(0)).logits[0], model.classifier(expected), atol=1e-6)


def test_vanilla_rnn_uses_tanh():
    assert tiny_model(cell="rnn").rnn.nonlinearity == "tanh"


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_shapes_and_labels(bidirectional, num_layers):
    id2label = {0: "a", 1: "b", 2: "c"}
    model = tiny_model(
        bidirectional=bidirectional,
        num_layers=num_layers,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    ).eval()
    assert model.config.num_labels == 3 and model.config.id2label == id2label
    assert model.classifier.in_features == 8 * (2 if bidirectional else 1)
    assert model.rnn.dropout == (0.5 if num_layers > 1 else 0.0)
    out = model(torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([[1, 1, 1], [1, 1, 0]]))
    assert out.loss is None and out.logits.shape == (2, 3)
    (logits,) = model(torch.tensor([[5, 6, 7]]), return_dict=False)
    assert logits.shape == (1, 3)


def test_one_label_is_regression():
    model = tiny_model(num_labels=1)
    out = model(torch.tensor([[5, 6, 7], [8, 9, 10]]), labels=torch.tensor([0.5, -1.0]))
    assert model.config.problem_type == "regression" and out.loss.shape == ()


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("cell", CELLS)
def test_padding_does_not_leak(cell, pooling, texts, right_pad, randomize):
    model = tiny_model(cell=cell, pooling=pooling).eval()
    randomize(model)
    input_ids, attention_mask = right_pad(texts)
    with torch.no_grad():
        batched = model(input_ids, attention_mask).logits
        unmasked = model(input_ids).logits
        for row, text in enumerate(texts):
            alone = model(text.unsqueeze(0)).logits[0]
            assert torch.allclose(alone, batched[row], atol=1e-5), f"{cell}, {pooling}: text of length {len(text)}"
    # Sanity check of the test itself: reading the padding changes the logits.
    assert not torch.allclose(unmasked[0], batched[0], atol=1e-3)


def test_forward_takes_named_arguments_only():
    kinds = {p.kind for p in inspect.signature(TextRNNForSequenceClassification.forward).parameters.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds


@pytest.mark.parametrize("cell", CELLS)
def test_seeded_init_is_deterministic(cell):
    a, b, c = (tiny_model(seed=s, cell=cell).state_dict() for s in (7, 7, 8))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(not torch.equal(a[k], c[k]) for k in a if "weight" in k)


@pytest.mark.parametrize("cell", CELLS)
def test_init_scheme(cell):
    model = tiny_model(cell=cell, hidden_size=16)
    assert torch.equal(model.embedding.weight[PAD], torch.zeros(12))
    assert torch.equal(model.classifier.bias, torch.zeros_like(model.classifier.bias))
    for name, param in model.rnn.named_parameters():
        blocks = param.detach().chunk(GATES[cell], dim=0)
        if name.startswith("weight_hh"):
            for block in blocks:  # each gate's recurrent matrix is orthogonal
                assert torch.allclose(block @ block.T, torch.eye(16), atol=1e-5), name
        elif name.startswith("bias_ih") and cell == "lstm":
            assert torch.equal(blocks[1], torch.ones(16)), f"{name}: forget gate bias"
            assert all(torch.equal(b, torch.zeros(16)) for i, b in enumerate(blocks) if i != 1), name
        elif name.startswith("bias"):
            assert torch.equal(param, torch.zeros_like(param)), name


@pytest.mark.parametrize("cell", CELLS)
def test_save_and_auto_load_roundtrip(cell, tmp_path, texts, right_pad):
    model = tiny_model(cell=cell).eval()
    model.save_pretrained(tmp_path)
    loaded, info = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert isinstance(loaded, TextRNNForSequenceClassification) and loaded.config.cell == cell
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert not info["error_msgs"]
    expected, saved = model.state_dict(), loaded.state_dict()
    assert all(torch.equal(expected[k], saved[k]) for k in expected)
    input_ids, attention_mask = right_pad(texts)
    with torch.no_grad():  # equal weights; the loaded LSTM may take another kernel path, hence allclose
        expected_logits = model(input_ids, attention_mask).logits
        assert torch.allclose(expected_logits, loaded.eval()(input_ids, attention_mask).logits, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("cpu_has_bf16", [False, True])
def test_bf16_autocast_on_a_cpu_without_bf16_runs_the_lstm_in_fp32(cell, cpu_has_bf16, monkeypatch):
    """oneDNN builds no bf16 LSTM on a CPU without bf16 instructions: a batch of equal lengths (its fast path) used to
    fail there with "could not create a primitive descriptor". Such an LSTM runs in fp32; elsewhere autocast rules."""
    if cpu_has_bf16 and not modeling_text_rnn.cpu_computes_bf16():
        monkeypatch.setattr(modeling_text_rnn, "cpu_computes_bf16", lambda: True)
        fallback_expected = False
        run_forward = cell != "lstm"  # the real kernel would fail here: only the choice of context is checked
    else:
        monkeypatch.setattr(modeling_text_rnn, "cpu_computes_bf16", lambda: cpu_has_bf16)
        fallback_expected = cell == "lstm" and not cpu_has_bf16
        run_forward = True
    model = tiny_model(cell=cell)
    input_ids = torch.randint(1, VOCAB, (4, 7))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        context = modeling_text_rnn.recurrent_precision(model.rnn, input_ids.device)
        assert isinstance(context, torch.autocast) is fallback_expected
        if not run_forward:
            return
        seen, recurrence = [], type(model.rnn).recurrence

        def spy(self, *args):
            result = recurrence(self, *args)
            seen.append(result[0].dtype)
            return result

        monkeypatch.setattr(type(model.rnn), "recurrence", spy)
        out = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=torch.tensor([0, 1, 1, 0]))
    out.loss.backward()
    assert torch.isfinite(out.loss) and all(param.grad is not None for param in model.parameters())
    assert len(seen) == 4  # two layers, two directions
    if fallback_expected:
        assert seen == [torch.float32] * 4


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (1, True), (2, True)])
def test_recurrence_over_real_tokens_is_torchs_packed_sequence(cell, num_layers, bidirectional):
    """One call a layer and direction on the padded batch gives what torch's module gives on the packed sequence:
    the outputs at real tokens (zero at padding), the final states and every weight's gradient."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    model = tiny_model(cell=cell, num_layers=num_layers, bidirectional=bidirectional, dropout=0.0)
    embedded = torch.randn(4, 9, 12, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 9, 1])
    rnn = model.rnn.double()
    outputs, final = rnn(embedded, lengths)
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    torch_module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    reference, hidden = torch_module.forward(rnn, packed)
    reference, _ = pad_packed_sequence(reference, batch_first=True, total_length=9)
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    directions = 2 if bidirectional else 1
    reference_final = torch.cat(list(hidden.view(num_layers, directions, 4, 8)[-1].unbind(0)), dim=-1)
    torch.testing.assert_close(outputs, reference)
    torch.testing.assert_close(final, reference_final)
    grads = torch.autograd.grad((outputs.sum() + final.square().sum()), list(rnn.parameters()))
    reference_grads = torch.autograd.grad(reference.sum() + reference_final.square().sum(), list(rnn.parameters()))
    for grad, reference_grad in zip(grads, reference_grads):
        torch.testing.assert_close(grad, reference_grad)


@pytest.mark.parametrize("cell", CELLS)
def test_torch_pruning_utilities_work_on_the_recurrent_layer(cell, texts, right_pad):
    """`torch.nn.utils.prune` recomputes a pruned weight in the module's forward pre-hook: the recurrent layer is
    called as a module, so the hook runs, step after step, and the pruned weights take no part."""
    from torch.nn.utils import prune

    model = tiny_model(cell=cell, num_layers=1, bidirectional=False)
    input_ids, attention_mask = right_pad(texts)
    prune.custom_from_mask(model.rnn, "weight_hh_l0", torch.zeros_like(model.rnn.weight_hh_l0))
    for _ in range(2):  # a stale weight from the first step would fail the second backward
        model(input_ids=input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 1, 1, 0, 1])).loss.backward()
    assert model.rnn.weight_hh_l0_orig.grad.abs().sum() == 0  # masked out of the recurrence
    assert model.rnn.weight_ih_l0.grad.abs().sum() > 0
