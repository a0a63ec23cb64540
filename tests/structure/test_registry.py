"""Granularities are a registry with a complete protocol; every granularity x strategy (x model) combination is
checked before round 0 trains."""

import re
import sys
from pathlib import Path

import pytest

from helpers.tiny import make_trainer, tiny_bert

from hf_lth.engine.trainer import LTHTrainer
from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import MASK_FILE, TicketMask
from hf_lth.pruning.strategies import PRUNING_STRATEGIES, register_strategy
from hf_lth.settings.arguments import LTHArguments
from hf_lth.storage.folder import ExperimentFolder
from hf_lth.structure import GRANULARITIES, check_granularity, get_granularity, register_granularity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "methods.md"


@pytest.fixture
def custom_strategy():
    """A strategy registered by a user (any unstructured pruning function): the `random` one under another name."""
    register_strategy("my_strategy")(PRUNING_STRATEGIES["random"])
    yield "my_strategy"
    del PRUNING_STRATEGIES["my_strategy"]


def test_each_granularity_declares_the_strategies_it_prunes_by(custom_strategy):
    assert list(GRANULARITIES) == ["unstructured", "channel", "N:M"]
    assert "my_strategy" in check_granularity("unstructured").supported_strategies()
    for spec in ("channel", "2:4"):
        assert check_granularity(spec).supported_strategies() == ["global_magnitude", "layerwise_magnitude", "random"]
    assert str(check_granularity("2:4")) == "2:4" and check_granularity("2:4").max_sparsity == 0.5
    assert check_granularity("channel").shrinkable and not check_granularity("2:4").shrinkable


@pytest.mark.parametrize("spec", ["channel", "2:4"])
def test_a_custom_strategy_with_a_structured_granularity_is_refused_when_the_arguments_are_built(
        custom_strategy, spec, tmp_path, dataset):
    message = rf"lth_granularity {spec} prunes by global_magnitude, layerwise_magnitude, random: lth_strategy must be"
    with pytest.raises(LTHInputError, match=message):
        LTHArguments(output_dir=str(tmp_path), lth_strategy=custom_strategy, lth_granularity=spec)
    # and by the trainer, for arguments changed after they were built: before round 0, which has not trained
    args = LTHArguments(output_dir=str(tmp_path / "run"), lth_granularity=spec)
    args.lth_strategy = custom_strategy
    with pytest.raises(LTHInputError, match=message):
        LTHTrainer(model=tiny_bert(), args=args, train_dataset=dataset)
    assert not (tmp_path / "run" / "round_00").exists()
    LTHArguments(output_dir=str(tmp_path), lth_strategy=custom_strategy)  # unstructured prunes by any strategy


def test_a_target_beyond_what_the_granularity_reaches_is_refused(tmp_path):
    with pytest.raises(LTHInputError, match=r"lth_target_sparsity 0.75 is beyond what lth_granularity 2:4 reaches"):
        LTHArguments(output_dir=str(tmp_path), lth_granularity="2:4", lth_method="gmp", lth_target_sparsity=0.75)
    LTHArguments(output_dir=str(tmp_path), lth_granularity="2:4", lth_method="gmp", lth_target_sparsity=0.5)


@pytest.fixture
def block4(tmp_path):
    """The docs' example granularity, written to a file of its own and imported; unregistered afterwards."""
    block = re.search(r"## Add your own granularity.*?```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    (tmp_path / "block4.py").write_text(block)
    sys.path.insert(0, str(tmp_path))
    try:
        import block4

        yield block4
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("block4", None)
        GRANULARITIES.pop("block4", None)


def test_the_docs_example_adds_a_granularity_in_one_file(block4, tmp_path, dataset):
    with pytest.raises(ValueError, match="lth_granularity 'block4' is registered already"):
        register_granularity(block4.Block4)
    with pytest.raises(LTHInputError, match="lth_strategy must be one of them, got 'global_magnitude'"):
        LTHArguments(output_dir=str(tmp_path), lth_granularity="block4")
    trainer = make_trainer(tmp_path, dataset, lth_granularity="block4", lth_strategy="layerwise_magnitude",
                           lth_rounds=1, num_train_epochs=1, lth_controls=["random_pruning"])
    results = trainer.find_tickets()
    ticket, control = results["rounds"][1], results["controls"]["random_pruning"][0]
    assert (ticket["granularity"], ticket["sparsity"]) == ("block4", pytest.approx(0.2, abs=0.01))
    assert ticket["blocks_kept"] == control["blocks_kept"] < results["rounds"][0]["blocks_kept"]
    mask = TicketMask.load(ExperimentFolder(tmp_path / "run").round_dir(1) / MASK_FILE)
    assert all(bool((m.reshape(-1, 4).all(dim=1) == m.reshape(-1, 4).any(dim=1)).all()) for m in mask.values())
    with pytest.raises(LTHInputError, match="must be unstructured, channel, N:M with 0 < N < M .* or block4"):
        get_granularity("block-4")
