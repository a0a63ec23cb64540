import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

from hf_lth import TicketMask, prune, resolve_prune_scope
from hf_lth.errors import LTHInputError
from hf_lth.models import TextCNNConfig, TextCNNForSequenceClassification
from hf_lth.storage.compact import (
    COMPACT_WEIGHTS_NAME,
    compact_metadata,
    load_compact,
    load_compact_mask,
    load_compact_model,
    load_ticket_state,
    save_compact,
)


def _ticket(model, sparsity):
    """Prune `model` to `sparsity` by global magnitude over its default scope and zero the pruned weights."""
    params = dict(model.named_parameters())
    scope = resolve_prune_scope(model)
    dense = TicketMask({n: torch.ones(params[n].shape, dtype=torch.bool) for n in scope})
    mask = prune("global_magnitude", {n: params[n].detach() for n in scope}, dense, sparsity)
    mask.apply_(model)
    return mask


def _bits(t):
    return t.contiguous().view(-1).view(torch.uint8 if t.element_size() == 1 else torch.int16 if t.element_size() == 2 else torch.int32)


def _assert_same_state(loaded, expected):
    assert list(loaded) == list(expected)
    for name, tensor in expected.items():
        assert loaded[name].dtype == tensor.dtype and loaded[name].shape == tensor.shape, name
        assert torch.equal(loaded[name], tensor), name


def test_cnn_ticket_round_trip_is_exact_and_at_most_a_fifth_of_the_dense_file(tmp_path):
    torch.manual_seed(0)
    model = TextCNNForSequenceClassification(TextCNNConfig(vocab_size=3000, embedding_dim=32, num_filters=16, num_labels=2))
    mask = _ticket(model, 0.9)
    model.save_pretrained(tmp_path / "dense")
    size = save_compact(model, mask, tmp_path / COMPACT_WEIGHTS_NAME, metadata={"sparsity": f"{mask.sparsity():.4f}"})
    dense_size = (tmp_path / "dense" / "model.safetensors").stat().st_size
    assert size <= 0.2 * dense_size, (size, dense_size)

    loaded = load_compact(tmp_path / COMPACT_WEIGHTS_NAME)
    _assert_same_state(loaded, model.state_dict())
    for name in mask:  # surviving values bit for bit
        keep = mask[name]
        assert torch.equal(_bits(loaded[name][keep]), _bits(model.state_dict()[name][keep]))
    assert compact_metadata(tmp_path / COMPACT_WEIGHTS_NAME)["sparsity"] == f"{mask.sparsity():.4f}"
    assert TicketMask(load_compact_mask(tmp_path / COMPACT_WEIGHTS_NAME)).digest() == mask.digest()


def test_bert_ticket_folder_loads_back_into_a_model_with_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=2)
    model = BertForSequenceClassification(config).eval()
    mask = _ticket(model, 0.9)
    folder = tmp_path / "round_01"
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    save_compact(model, mask, folder / COMPACT_WEIGHTS_NAME)

    _assert_same_state(load_ticket_state(folder), model.state_dict())
    again = load_compact_model(folder).eval()
    ids = torch.randint(0, 200, (3, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(again(input_ids=ids).logits, model(input_ids=ids).logits)


def test_pruned_weights_must_be_zero_unless_not_strict(tmp_path):
    weights = {"w": torch.tensor([[1.0, -2.0], [3.0, 4.0]]), "b": torch.tensor([0.5, 0.25])}
    mask = {"w": torch.tensor([[True, False], [True, True]])}
    with pytest.raises(LTHInputError, match="non-zero weights where the mask prunes"):
        save_compact(weights, mask, tmp_path / "x.safetensors")
    save_compact(weights, mask, tmp_path / "x.safetensors", strict=False)
    loaded = load_compact(tmp_path / "x.safetensors")
    assert loaded["w"].tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert torch.equal(loaded["b"], weights["b"])


def test_negative_zero_pruned_weights_compare_equal_and_tied_tensors_stay_tied(tmp_path):
    shared = torch.tensor([[-0.0, 2.0, -3.0, 0.0]])  # a pruned -0.0 (w * 0 for w < 0) and a surviving +0.0
    weights = {"a.weight": shared, "b.weight": shared, "c": torch.arange(3.0)[1:]}  # c: a view with an offset
    mask = {"a.weight": torch.tensor([[False, True, True, True]])}
    save_compact(weights, mask, tmp_path / "t.safetensors")
    loaded = load_compact(tmp_path / "t.safetensors")
    assert torch.equal(loaded["a.weight"], shared)
    assert loaded["a.weight"] is loaded["b.weight"]
    assert torch.equal(loaded["c"], torch.tensor([1.0, 2.0]))


def test_a_file_that_is_not_compact_or_is_missing_is_a_clear_error(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(LTHInputError, match="not an hf_lth compact weights file"):
        load_compact(tmp_path / "plain.safetensors")
    with pytest.raises(LTHInputError, match="does not exist"):
        load_compact(tmp_path / "missing.safetensors")
    with pytest.raises(LTHInputError, match="do not have"):
        save_compact({"w": torch.zeros(2)}, {"v": torch.ones(2, dtype=torch.bool)}, tmp_path / "y.safetensors")


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=3),
    dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16, torch.float64]),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_round_trip_is_bit_exact_for_any_shape_dtype_and_mask(tmp_path_factory, shape, dtype, density, seed):
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(shape, generator=g) < density
    values = (torch.randn(shape, generator=g) * 3).to(dtype)
    weight = torch.where(keep, values, torch.zeros((), dtype=dtype))
    path = tmp_path_factory.mktemp("c") / "w.safetensors"
    save_compact({"w": weight, "bias": values}, {"w": keep}, path)
    loaded = load_compact(path)
    assert torch.equal(_bits(loaded["w"]), _bits(weight))
    assert torch.equal(_bits(loaded["bias"]), _bits(values))
