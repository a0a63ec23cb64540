"""A line goes on from its published records after its run folder is gone (`hf_lth.engine.restore`).

One run is killed while round 2's ticket is written (rounds 0 and 1 finished, round 2's mask pending), published
with `publish_masks`, and its run folder deleted; the same command with `--lth_resume_from` then finishes the line.
It must end with the records, masks, predictions and weights of one uninterrupted run (times aside), without
training rounds 0 and 1 again. What cannot be restored is refused with a message that names the reason.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers.cli import TINY, run_cli, training_steps_logged
from hf_lth.pruning.masks import TicketMask
from hf_lth.storage.folder import ExperimentFolder
from hf_lth.storage.paths import MASK_FILE, PREDICTIONS_FILE, RESTORED_FILE
from hf_lth.study.publish import publish_study
from hf_lth.study.spec import Line, Study

SEED = 3
STEPS_PER_ROUND = 8  # 64 rows / batch 8, one epoch
FLAGS = TINY + ["--lth_rounds", "2", "--lth_controls", "random_pruning,random_reinit", "--lth_control_rounds", "2",
                "--logging_steps", "1", "--seed", str(SEED)]
VOLATILE = {"wall_time_s", "train_time_s", "eval_time_s", "eval_runtime", "test_runtime"}
ROUNDS = [(0, None), (1, None), (2, None), (2, "random_pruning"), (2, "random_reinit")]


def when_ticket_is_written(round_index: int) -> dict:
    return {"rename": rf"\.round_{round_index:02d}\.tmp-\d+"}


def study(root: Path) -> Study:
    return Study(name="restore", base=root / "unused.json", output=str(root / "run_seed{seed}"), seeds=[SEED],
                 lines=[Line("main")], results=str(root / "published_seed{seed}"), publish_masks=True)


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    """An uninterrupted line, and the same line killed, published, deleted and gone on from its published copy."""
    root = tmp_path_factory.mktemp("restore")
    spec = study(root)
    run, published = spec.output_dir(SEED), spec.results_dir(SEED)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reference = pool.submit(run_cli, FLAGS + ["--output_dir", str(root / "reference")])
        cut = pool.submit(run_cli, FLAGS + ["--output_dir", str(run)], pause_at=when_ticket_is_written(2))
        reference, cut = reference.result(), cut.result()
    assert cut.killed, "the run ended before its round 2 ticket was written"
    pending_before_publish = ExperimentFolder(run).pending_mask_path(2).is_file()
    publish_study(spec)
    shutil.rmtree(run)
    resumed = run_cli(FLAGS + ["--output_dir", str(run), "--lth_resume_from", str(published)])
    return {"root": root, "reference": reference, "resumed": resumed, "run": run, "published": published,
            "pending_before_publish": pending_before_publish}


def outcome(out: Path) -> dict:
    results = json.loads((out / "lth_results.json").read_text())
    folder = ExperimentFolder(out)
    records, masks, predictions = {}, {}, {}
    for index, kind in ROUNDS:
        record = folder.record(index, kind)
        records[index, kind] = {k: v for k, v in record.items() if k not in VOLATILE}
        masks[index, kind] = TicketMask.load(folder.mask_path(index, kind)).digest()
        predictions[index, kind] = load_file(str(folder.predictions_path(index, kind)))
    return {"records": records, "masks": masks, "predictions": predictions, "best": results["best_round"],
            "listed": [r["round"] for r in results["rounds"]]}


@pytest.mark.slow
def test_a_line_goes_on_from_its_published_records_as_if_it_had_not_stopped(lines):
    reference, resumed = lines["reference"], lines["resumed"]
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert lines["pending_before_publish"], "round 2's mask was not kept while it trained"
    # Rounds 0 and 1 are restored, not trained again; round 2 and the controls train.
    assert not training_steps_logged(resumed.lines, 0, STEPS_PER_ROUND)
    assert not training_steps_logged(resumed.lines, 1, STEPS_PER_ROUND)
    assert training_steps_logged(resumed.lines, 2, STEPS_PER_ROUND)
    want, got = outcome(lines["root"] / "reference"), outcome(lines["run"])
    assert got["masks"] == want["masks"]
    for key in want["records"]:
        a, b = got["records"][key], want["records"][key]
        assert a == b, f"{key}: " + str({k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)})
        for name, tensor in want["predictions"][key].items():
            assert torch.equal(got["predictions"][key][name], tensor), (key, name)
    assert got["best"] == want["best"] and got["listed"] == want["listed"] == [0, 1, 2]
    # Restored folders say so and hold no weights; the rounds trained after hold theirs, equal to the reference's.
    folder, reference_folder = ExperimentFolder(lines["run"]), ExperimentFolder(lines["root"] / "reference")
    for index in (0, 1):
        assert folder.restored_path(index).is_file() and not folder.has_weights(index)
        assert {MASK_FILE, PREDICTIONS_FILE} <= {p.name for p in folder.round_dir(index).iterdir()}
    for index, kind in ROUNDS[2:]:
        assert folder.has_weights(index, kind) and not folder.restored_path(index, kind).is_file()
        weights = load_file(str(folder.round_dir(index, kind) / "model.safetensors"))
        expected = load_file(str(reference_folder.round_dir(index, kind) / "model.safetensors"))
        assert weights.keys() == expected.keys()
        assert all(torch.equal(weights[name], expected[name]) for name in expected), (index, kind)
    assert not folder.pending_mask_path(2).exists(), "a finished round's pending mask is left behind"


@pytest.mark.slow
def test_a_restored_round_is_not_pushed_for_it_has_no_weights(lines, tmp_path):
    from hf_lth.errors import LTHInputError
    from hf_lth.hub.tickets import stage_ticket

    with pytest.raises(LTHInputError, match="round 1 of .* was restored from published records and holds no weights"):
        stage_ticket(lines["run"], tmp_path / "staged", round_index=1)
    assert not (tmp_path / "staged").exists()
    assert (stage_ticket(lines["run"], tmp_path / "staged", round_index=2) / "model.safetensors").is_file()


@pytest.mark.slow
def test_the_published_state_holds_packed_masks_and_no_weights(lines):
    published = ExperimentFolder(lines["published"])
    state = published.published_state_dir
    files = sorted(p.relative_to(state).as_posix() for p in state.rglob("*") if p.is_file())
    assert files == ["initial_weights.json", "masks/round_00.safetensors", "masks/round_01.safetensors",
                     "pending/round_02.safetensors"]
    mask = TicketMask.load(ExperimentFolder(lines["root"] / "reference").mask_path(1))
    assert published.published_mask_path(1).stat().st_size < mask.num_prunable() / 8 + 4096  # a bit a weight


@pytest.mark.slow
@pytest.mark.parametrize("change, message", [
    (["--learning_rate", "0.002"], "was published from an experiment with other settings (learning_rate)"),
    (["--lth_rewind", "step:2"], "--lth_resume_from needs lth_rewind init"),
    (["--lth_branch", "other"], "--lth_resume_from restores a main line"),
])
def test_what_cannot_go_on_is_refused(lines, tmp_path, change, message):
    flags = change + ["--output_dir", str(tmp_path / "run"), "--lth_resume_from", str(lines["published"])]
    run = run_cli(FLAGS + flags)
    assert run.returncode != 0
    assert message in run.stderr, run.stderr[-2000:]


@pytest.mark.slow
def test_other_initial_weights_are_refused(lines, tmp_path):
    published = tmp_path / "published"
    shutil.copytree(lines["published"], published)
    digest = ExperimentFolder(published).published_initial_weights_path
    digest.write_text(json.dumps({"sha256": "0" * 64, "step": 0}))
    run = run_cli(FLAGS + ["--output_dir", str(tmp_path / "run"), "--lth_resume_from", str(published)])
    assert run.returncode != 0
    assert "the initial weights built here" in run.stderr and "It cannot go on here." in run.stderr
    assert not (tmp_path / "run" / "round_00").exists()


@pytest.mark.slow
def test_records_published_without_state_are_refused(lines, tmp_path):
    published = tmp_path / "published"
    shutil.copytree(lines["published"], published)
    shutil.rmtree(ExperimentFolder(published).published_state_dir)
    run = run_cli(FLAGS + ["--output_dir", str(tmp_path / "run"), "--lth_resume_from", str(published)])
    assert run.returncode != 0
    assert "it was published without its state" in run.stderr, run.stderr[-2000:]


def test_nothing_published_yet_starts_from_round_0(tmp_path):
    flags = TINY + ["--lth_rounds", "1", "--seed", str(SEED), "--output_dir", str(tmp_path / "run"),
                    "--lth_resume_from", str(tmp_path / "not_yet_published")]
    run = run_cli(flags)
    assert run.returncode == 0, run.stderr[-3000:]
    assert ExperimentFolder(tmp_path / "run").finished_rounds() == [0, 1]
    assert not ExperimentFolder(tmp_path / "run").restored_path(0).exists()
