import pytest
import torch

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2))


def test_dense_mask_counts_and_sparsity():
    mask = TicketMask.dense(_model(), ["0.weight", "1.weight"])
    assert mask.num_prunable() == 24 + 8
    assert mask.sparsity() == 0.0
    assert all(m.dtype == torch.bool for m in mask.values())


def test_apply_zeroes_exactly_the_pruned_weights_and_is_idempotent():
    model = _model()
    before = model[0].weight.detach().clone()
    keep = torch.rand(4, 6, generator=torch.Generator().manual_seed(1)) > 0.5
    mask = TicketMask({"0.weight": keep})
    mask.apply_(model)
    assert torch.equal(model[0].weight[~keep], torch.zeros(int((~keep).sum())))
    assert torch.equal(model[0].weight[keep], before[keep])
    once = model[0].weight.detach().clone()
    mask.apply_(model)
    assert torch.equal(model[0].weight, once)


def test_save_load_round_trip_and_digest(tmp_path):
    keep = torch.rand(4, 6, generator=torch.Generator().manual_seed(1)) > 0.5
    mask = TicketMask({"0.weight": keep})
    mask.save(tmp_path / "m.safetensors")
    loaded = TicketMask.load(tmp_path / "m.safetensors")
    assert loaded.digest() == mask.digest()
    assert abs(loaded.sparsity() - float((~keep).sum()) / keep.numel()) < 1e-12
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file may remain"


def test_mask_that_does_not_fit_the_model_is_named():
    model = _model()
    with pytest.raises(LTHInputError, match="'0.weight'.*shape"):
        TicketMask({"0.weight": torch.ones(3, 3, dtype=torch.bool)}).check_fits(model)
    with pytest.raises(LTHInputError, match="does not have.*encoder.weight"):
        TicketMask({"encoder.weight": torch.ones(3, dtype=torch.bool)}).check_fits(model)


def test_broken_mask_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "lth_mask.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(LTHInputError, match="not a readable safetensors file"):
        TicketMask.load(bad)
    with pytest.raises(LTHInputError, match="does not exist"):
        TicketMask.load(tmp_path / "missing.safetensors")


def test_nesting():
    big = TicketMask({"w": torch.tensor([True, True, False])})
    small = TicketMask({"w": torch.tensor([True, False, False])})
    assert small.is_nested_in(big) and not big.is_nested_in(small)
