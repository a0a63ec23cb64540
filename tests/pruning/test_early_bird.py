"""Early-bird tickets: the dense phase stops once the magnitude mask stops changing, then one round trains."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl, TrainerState

from helpers.tiny import make_trainer

from hf_lth.pruning.early_bird import EarlyBirdCallback, mask_distance
from hf_lth.pruning.masks import MASK_FILE, TicketMask
from hf_lth.pruning.strategies import PRUNING_STRATEGIES, prune
from hf_lth.storage.folder import ExperimentFolder


def test_mask_distance_is_the_share_of_weights_that_differ():
    a = TicketMask({"w": torch.tensor([1, 1, 0, 0], dtype=torch.bool), "v": torch.tensor([1, 1], dtype=torch.bool)})
    b = TicketMask({"w": torch.tensor([1, 0, 1, 0], dtype=torch.bool), "v": torch.tensor([1, 1], dtype=torch.bool)})
    assert mask_distance(a, b) == pytest.approx(2 / 6) and mask_distance(a, a) == 0.0


def test_stops_when_the_last_window_of_masks_agree():
    model = torch.nn.Linear(4, 4)
    dense = TicketMask({"weight": torch.ones(4, 4, dtype=torch.bool)})
    watcher = EarlyBirdCallback(PRUNING_STRATEGIES["global_magnitude"], 0.5, interval=2, epsilon=0.05, window=3, dense=dense, seed=0)
    state, control = TrainerState(), TrainerControl()
    for step in range(1, 20):
        state.global_step = step
        if step == 3:  # the weights move once, early: the masks before it differ from those after
            with torch.no_grad():
                model.weight.copy_(torch.randn(4, 4, generator=torch.Generator().manual_seed(1)))
        watcher.on_step_end(None, state, control, model=model)
        if control.should_training_stop:
            break
    # checks at 2, 4, 6, 8: the window {4, 6, 8} is the first whose masks all agree
    assert watcher.stopped_at == 8 and [h["step"] for h in watcher.history] == [2, 4, 6, 8]
    assert watcher.history[1]["distance"] > 0.05 and watcher.history[-1]["window_max"] == 0.0
    assert watcher.mask.sparsity() == 0.5


def test_early_bird_line_replays_round_0_and_trains_the_mask_it_stopped_at(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_rounds=0, lth_method="early_bird", lth_target_sparsity=0.5,
                           lth_eb_interval=1, lth_eb_window=2, lth_eb_epsilon=0.9, lth_rewind_steps=[2])
    ticket = trainer.find_tickets()["rounds"][1]
    assert (ticket["method"], ticket["early_bird_step"], ticket["search_steps"]) == ("early_bird", 2, 2)
    assert ticket["train_steps"] == 6 and ticket["sparsity"] == pytest.approx(0.5, abs=1e-3)
    assert [h["step"] for h in ticket["mask_distances"]] == [1, 2]
    folder = ExperimentFolder(tmp_path / "run")
    # the search replayed round 0: its mask is the magnitude mask of round 0's weights after step 2
    step2 = load_file(folder.rewind_path(2))
    dense = TicketMask.dense(trainer.model, list(TicketMask.load(folder.round_dir(1) / MASK_FILE)))
    expected = prune("global_magnitude", {n: step2[n] for n in dense}, dense, 0.5, seed=8)
    mask = TicketMask.load(folder.round_dir(1) / MASK_FILE)
    assert all(torch.equal(mask[n], expected[n]) for n in mask)
    assert not (folder.base / "early_bird_search").exists()


def test_methods_other_than_imp_need_a_target_sparsity(tmp_path):
    from hf_lth import LTHArguments, LTHInputError

    with pytest.raises(LTHInputError, match="lth_method gmp needs lth_target_sparsity"):
        LTHArguments(output_dir=str(tmp_path), lth_method="gmp")
