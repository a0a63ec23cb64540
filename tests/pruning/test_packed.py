"""Packed masks (`hf_lth.pruning.packed`): 8 weights a byte, read back bit-for-bit in the same order."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.packed import load_packed_mask, save_packed_mask


@settings(max_examples=25, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(0, 9), min_size=0, max_size=3), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_a_mask_comes_back_bit_for_bit_in_its_order(tmp_path_factory, shapes, seed):
    generator = torch.Generator().manual_seed(seed)
    names = [f"layer{len(shapes) - i}.weight" for i in range(len(shapes))]  # not in sorted order
    mask = TicketMask({name: torch.rand(shape, generator=generator) > 0.4 for name, shape in zip(names, shapes)})
    path = save_packed_mask(mask, tmp_path_factory.mktemp("packed") / "mask.safetensors")
    back = load_packed_mask(path)
    assert list(back) == names and back.digest() == mask.digest()
    assert all(back[name].shape == mask[name].shape and torch.equal(back[name], mask[name]) for name in names)


def test_a_packed_mask_takes_a_bit_a_weight(tmp_path):
    mask = TicketMask({"w": torch.rand(1000, 80) > 0.5})
    path = save_packed_mask(mask, tmp_path / "mask.safetensors")
    assert path.stat().st_size < 80_000 / 8 + 1024


def test_a_damaged_or_foreign_file_is_refused(tmp_path):
    path = save_packed_mask(TicketMask({"w": torch.ones(64, dtype=torch.bool)}), tmp_path / "mask.safetensors")
    tensors = load_file(str(path))
    tensors["w"][0] = 0  # a weight flipped: the stored digest no longer matches
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(LTHInputError, match="is damaged"):
        load_packed_mask(path)
    TicketMask({"w": torch.ones(3, dtype=torch.bool)}).save(tmp_path / "plain.safetensors")
    with pytest.raises(LTHInputError, match="is not a packed mask"):
        load_packed_mask(tmp_path / "plain.safetensors")
    with pytest.raises(LTHInputError, match="does not exist"):
        load_packed_mask(tmp_path / "missing.safetensors")
