"""The method registry: IMP, one-shot, GMP and early-bird are registered methods, names and settings are unique, and
the docs' "add your own method" file is all it takes to add one."""

import json
import re
import sys
from pathlib import Path

import pytest
from transformers import HfArgumentParser

from helpers.tiny import tiny_bert

from hf_lth.engine.metrics import compute_metrics
from hf_lth.engine.trainer import LTHTrainer
from hf_lth.methods import METHODS, GMPSettings, LineMethod, register_method
from hf_lth.settings.arguments import LTHArguments
from hf_lth.storage.folder import ExperimentFolder

DOCS = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "methods.md"


def test_the_built_in_methods_are_registered_with_their_own_flags():
    assert list(METHODS) == ["imp", "one_shot", "gmp", "early_bird"]
    assert METHODS["gmp"].setting_names() == ["lth_gmp_start_step", "lth_gmp_end_step", "lth_gmp_frequency"]
    assert METHODS["early_bird"].setting_names() == ["lth_eb_interval", "lth_eb_epsilon", "lth_eb_window"]
    one_shot = LTHArguments(lth_one_shot=True, lth_target_sparsity=0.8)  # the older flag is the one_shot method
    assert (one_shot.lth_method, one_shot.num_pruning_rounds, one_shot.method.line_record()) == (
        "one_shot", 1, {"prune_rate": 0.8, "prune_schedule": "one_shot"})
    assert LTHArguments(lth_method="one_shot", lth_target_sparsity=0.8).lth_one_shot


def test_a_name_or_a_setting_registered_twice_is_refused():
    class Again(LineMethod):
        name = "gmp"

    with pytest.raises(ValueError, match="lth_method 'gmp' is registered already"):
        register_method(Again)

    class Borrower(LineMethod):
        name = "borrower"
        settings_class = GMPSettings

    with pytest.raises(ValueError, match=r"settings \['lth_gmp_end_step', .*\] are already those of lth_method 'gmp'"):
        register_method(Borrower)
    assert "borrower" not in METHODS


@pytest.fixture
def random_once(tmp_path):
    """The docs' example method, written to a file of its own and imported; unregistered afterwards."""
    block = re.search(r"## Add your own method.*?```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    (tmp_path / "random_once.py").write_text(block)
    sys.path.insert(0, str(tmp_path))
    try:
        import random_once

        yield random_once
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("random_once", None)
        METHODS.pop("random_once", None)


def test_the_docs_example_adds_a_method_in_one_file(random_once, tmp_path, dataset):
    (parsed,) = HfArgumentParser(random_once.RandomOnceArguments).parse_args_into_dataclasses(
        ["--lth_method", "random_once", "--lth_random_once_seed", "3", "--lth_target_sparsity", "0.5"])
    assert (parsed.lth_method, parsed.lth_random_once_seed, parsed.num_pruning_rounds) == ("random_once", 3, 1)
    args = random_once.RandomOnceArguments(
        output_dir=str(tmp_path / "run"), lth_method="random_once", lth_random_once_seed=3, lth_target_sparsity=0.5,
        num_train_epochs=1, per_device_train_batch_size=16, disable_tqdm=True, seed=7, dataloader_pin_memory=False,
        lth_controls=["random_reinit"])
    trainer = LTHTrainer(model=tiny_bert(), args=args, train_dataset=dataset, eval_dataset=dataset,
                         compute_metrics=compute_metrics)
    results = trainer.find_tickets()
    ticket = results["rounds"][1]
    assert (ticket["method"], ticket["random_once_seed"]) == ("random_once", 3)
    assert ticket["sparsity"] == pytest.approx(0.5, abs=1e-3)
    assert results["controls"]["random_reinit"][0]["method"] == "imp"  # a control trains the ticket's fixed mask
    stored = json.loads((ExperimentFolder(tmp_path / "run").root / "lth_experiment.json").read_text())
    assert stored["main"]["lth_method"] == "random_once" and stored["main"]["lth_random_once_seed"] == 3
    assert not any(key.startswith(("lth_gmp_", "lth_eb_")) for key in {**stored["main"], **stored["trunk"]})
    assert "lth_random_once_seed" not in stored["trunk"]


def test_the_settings_of_a_method_are_in_the_identity_only_when_it_is_the_lines(random_once, tmp_path):
    from hf_lth.settings.identity import identity_settings

    model = tiny_bert()
    imp = identity_settings(random_once.RandomOnceArguments(output_dir=str(tmp_path)), model)
    mine = identity_settings(random_once.RandomOnceArguments(output_dir=str(tmp_path), lth_method="random_once",
                                                              lth_target_sparsity=0.5), model)
    assert "lth_random_once_seed" not in imp and "lth_method" not in imp and "lth_target_sparsity" not in imp
    assert mine["lth_random_once_seed"] == 0 and mine["lth_method"] == "random_once"
