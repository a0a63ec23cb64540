"""The trainer refuses FSDP settings it cannot mask under (FSDP1) before anything trains. (The refusal of `--fsdp`
that accelerate drops on the CPU needs two processes: tests/test_fsdp.py.)"""

from __future__ import annotations

import pytest

from helpers.tiny import make_trainer
from hf_lth.errors import LTHInputError


def test_fsdp_version_1_is_refused_with_the_setting_to_change(tmp_path, dataset):
    with pytest.raises(LTHInputError, match=r"fsdp_config version 1: .*FSDP2 only"):
        make_trainer(tmp_path, dataset, fsdp=True, fsdp_config={"version": 1})
    assert not (tmp_path / "run").exists()
