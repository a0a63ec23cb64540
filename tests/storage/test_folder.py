"""Branches: variants of an experiment that reuse its round 0 and rewind points, each with its own rounds."""

import json

import pytest
import torch
from safetensors.torch import load_file

from hf_lth.errors import LTHInputError
from hf_lth.pruning.masks import TicketMask

from helpers.tiny import RoundStartRecorder, make_trainer


@pytest.mark.slow
def test_branches_reuse_round_0_and_keep_their_own_rounds(tmp_path, dataset):
    main = make_trainer(tmp_path, dataset, lth_rounds=1, lth_rewind_steps="0,2").find_tickets()
    out = tmp_path / "run"
    stamp = (out / "round_00" / "model.safetensors").stat().st_mtime_ns
    branch_results = {}
    for name, rewind in (("late", "step:2"), ("lr", "lr"), ("finetune", "finetune")):
        recorder = RoundStartRecorder()
        controls = "random_pruning" if name == "late" else ""  # lr and finetune refuse controls
        branch_results[name] = make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1, lth_branch=name,
                                            lth_rewind=rewind, lth_controls=controls).find_tickets()
        assert len(recorder.starts) == 1 + bool(controls), "a branch trains its round 1 (and control), never round 0"
    assert (out / "round_00" / "model.safetensors").stat().st_mtime_ns == stamp
    late = branch_results["late"]
    assert late["rounds"][0] == main["rounds"][0] and late["branch"] == "late"
    assert late["experiment"]["lth_rewind"] == "step:2" and late["rounds"][1]["rewind"] == "step:2"
    assert late["rounds"][1]["train_steps"] == main["rounds"][0]["train_steps"] - 2
    for name in ("late", "lr", "finetune"):
        folder = out / "branches" / name
        assert (folder / "round_01" / "lth_mask.safetensors").is_file()
        assert (folder / "controls" / "random_pruning" / "round_01").is_dir() == (name == "late")
        assert json.loads((folder / "lth_results.json").read_text())["branch"] == name
    # the same magnitude pruning of the same trained round 0 gives every branch the same first mask
    masks = {TicketMask.load(out / "branches" / n / "round_01" / "lth_mask.safetensors").digest() for n in branch_results}
    assert masks == {TicketMask.load(out / "round_01" / "lth_mask.safetensors").digest()}
    assert json.loads((out / "lth_results.json").read_text())["experiment"]["lth_rewind"] == "init"


def test_a_branch_needs_a_kept_rewind_step(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=0).find_tickets()
    with pytest.raises(LTHInputError, match=r"keeps round 0's weights at steps \[0\], not at step 3"):
        make_trainer(tmp_path, dataset, lth_rounds=1, lth_branch="late", lth_rewind="step:3").find_tickets()


@pytest.mark.slow
def test_a_branch_refuses_another_trunk_and_its_own_changed_settings(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1).find_tickets()
    with pytest.raises(LTHInputError, match="learning_rate: 0.01 -> 0.02"):
        make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_branch="b", learning_rate=0.02).find_tickets()
    make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_branch="b", lth_prune_rate=0.5).find_tickets()
    with pytest.raises(LTHInputError, match=r"branch b\) holds an experiment with other settings \(lth_prune_rate: 0.5 -> 0.3"):
        make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_branch="b", lth_prune_rate=0.3).find_tickets()
    with pytest.raises(LTHInputError, match="lth_prune_rate: 0.2 -> 0.3.*--lth_branch NAME"):
        make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_prune_rate=0.3).find_tickets()
    redone = make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_branch="b", lth_prune_rate=0.3,
                          overwrite_output_dir=True).find_tickets()
    assert redone["rounds"][1]["prune_rate"] == 0.3
    assert (tmp_path / "run" / "round_01").is_dir(), "overwriting a branch leaves the main line alone"


def test_rewind_points_are_the_weights_at_their_steps(tmp_path, dataset):
    recorder = RoundStartRecorder()
    make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=0, lth_rewind_steps="0,3").find_tickets()
    points = tmp_path / "run" / "rewind_points"
    assert sorted(p.name for p in points.iterdir()) == ["step_000000.safetensors", "step_000003.safetensors"]
    initial = load_file(str(points / "step_000000.safetensors"))
    assert all(torch.equal(initial[k], v) for k, v in recorder.starts[0].items() if k in initial)
    with pytest.raises(LTHInputError, match=r"lth_rewind_steps \[99\] is beyond round 0, which will take 6 steps"):
        make_trainer(tmp_path, dataset, name="far", lth_rounds=0, lth_rewind_steps="99").find_tickets()


def test_trunk_settings_are_read_through_the_folder(tmp_path):
    from hf_lth.storage.folder import ExperimentFolder

    folder = ExperimentFolder(tmp_path / "run")
    with pytest.raises(LTHInputError, match="holds no trunk settings"):
        folder.trunk_settings()
    folder.root.mkdir()
    folder.claim({"seed": 3, "data.max_seq_length": 64}, {"lth_rewind": "init"})
    assert folder.trunk_settings() == {"seed": 3, "data.max_seq_length": 64}
    folder.settings_path.write_text("[1, 2]")
    with pytest.raises(LTHInputError, match="unreadable"):
        folder.trunk_settings()
