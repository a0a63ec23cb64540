"""Gradual magnitude pruning: Zhu & Gupta's cubic schedule, reached exactly, in one round."""

import pytest
import torch

from helpers.tiny import make_trainer

from hf_lth.pruning.gradual import GradualPruningCallback, cubic_sparsity, pruning_steps
from hf_lth.pruning.masks import MASK_FILE, TicketMask
from hf_lth.pruning.strategies import PRUNING_STRATEGIES
from hf_lth.storage.folder import ExperimentFolder


def test_cubic_schedule_starts_fast_and_ends_at_the_target():
    assert pruning_steps(2, 10, 3) == [2, 5, 8, 10]
    assert pruning_steps(0, 4, 2) == [0, 2, 4]
    values = [cubic_sparsity(t, 2, 10, 0.8) for t in range(0, 13)]
    assert values[:3] == [0.0, 0.0, 0.0] and values[10:] == [0.8, 0.8, 0.8]
    assert values[6] == pytest.approx(0.8 - 0.8 * 0.5 ** 3)  # halfway: 7/8 of the way there
    gains = [b - a for a, b in zip(values[2:10], values[3:11])]
    assert gains == sorted(gains, reverse=True)  # each step prunes less than the one before


def test_gmp_round_follows_the_schedule_and_reaches_the_target_exactly(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_rounds=0, lth_method="gmp", lth_target_sparsity=0.6,
                           lth_gmp_start_step=1, lth_gmp_end_step=5, lth_gmp_frequency=2, weight_decay=0.0)
    results = trainer.find_tickets()
    ticket = results["rounds"][1]
    total = ticket["num_prunable"]
    assert (ticket["method"], ticket["gmp_steps"], ticket["train_steps"]) == ("gmp", [1, 3, 5], 6)
    assert ticket["num_kept"] == round(0.4 * total) and ticket["sparsity"] == pytest.approx(0.6, abs=1 / total)
    logged = {entry["step"]: entry["sparsity"] for entry in trainer.state.log_history if "loss" in entry}
    for step in range(1, 7):  # the sparsity each step trained at: the schedule's at the last pruning step
        last = max(t for t in (1, 3, 5) if t <= step)
        assert logged[step] == pytest.approx(cubic_sparsity(last, 1, 5, 0.6), abs=1 / total), step
    folder = ExperimentFolder(tmp_path / "run")
    mask = TicketMask.load(folder.round_dir(1) / MASK_FILE)
    weights = dict(trainer.model.named_parameters())
    assert all(torch.all(weights[name][~mask[name]] == 0) for name in mask)  # pruned weights stayed zero
    assert results["experiment"]["lth_method"] == "gmp"


def test_gmp_end_defaults_to_three_quarters_of_the_round(tmp_path, dataset):
    results = make_trainer(tmp_path, dataset, lth_rounds=0, lth_method="gmp", lth_target_sparsity=0.5,
                           lth_gmp_frequency=1).find_tickets()
    assert results["rounds"][1]["gmp_steps"] == [0, 1, 2, 3, 4]  # 6 steps: the last pruning at step 4


def test_gmp_end_beyond_the_round_is_refused(tmp_path, dataset):
    from hf_lth import LTHInputError

    with pytest.raises(LTHInputError, match="lth_gmp_end_step 9 is beyond the round, which takes 6 steps"):
        make_trainer(tmp_path, dataset, lth_rounds=0, lth_method="gmp", lth_target_sparsity=0.5,
                     lth_gmp_end_step=9).find_tickets()


def test_resumed_round_reads_the_mask_it_had_reached(tmp_path):
    mask = TicketMask({"w": torch.tensor([True, False, True, False])})

    class Masker:  # the trainer's TicketMaskCallback, as far as the gradual-pruning callback uses it
        def __init__(self):
            self.mask, self.changed = mask, []

        def change_mask(self, new, model):
            self.changed.append(new)

    masker = Masker()
    callback = GradualPruningCallback(PRUNING_STRATEGIES["global_magnitude"], 0.5, 0, 4, 1, 0, masker, initial=0.5)
    checkpoint = tmp_path / "checkpoint-3"
    checkpoint.mkdir()

    class Args:
        output_dir, should_save = str(tmp_path), True

    class State:
        global_step = 3

    callback.on_save(Args, State, None)
    assert TicketMask.load(checkpoint / MASK_FILE).num_kept() == 2
    callback.on_train_begin(Args, State, None, model=None)
    assert len(masker.changed) == 1 and torch.equal(masker.changed[0]["w"], mask["w"])


def test_controls_wanted_beyond_a_one_round_line_are_skipped(tmp_path, dataset):
    results = make_trainer(tmp_path, dataset, lth_rounds=0, lth_method="gmp", lth_target_sparsity=0.5,
                           lth_controls=["random_pruning"], lth_control_rounds=[5]).find_tickets()
    assert len(results["rounds"]) == 2 and not any(results["controls"].values())
