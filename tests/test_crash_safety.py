"""Crash safety: SIGKILL `run_lth.py` at chosen moments, run the same command again, get the same experiment.

Every killed run is compared with one uninterrupted run of the same command (same seed, CPU, one thread):
the rerun must finish with bitwise-equal masks (`TicketMask.digest()`) and weights, equal records (metrics,
counts, learning rates; the times (`wall_time_s`, `eval_runtime`, ...) may differ, and so may `train_loss` of a
round resumed from a Trainer checkpoint, which Trainer averages over the steps of the resumed call only) and a clean folder (no
temporary file or folder, no checkpoint left). Every moment is reached deterministically: the child runs
through `helpers/paused_run_lth.py`, which stops it there (after Trainer logs a step, before it writes a
checkpoint's `trainer_state.json`, or before a ticket folder is renamed into place) until it is killed. No
hook in the package is needed, and a fast machine cannot run past the moment (polling for it did, on CI).
After each kill the test asserts that it landed where intended, so a missed moment fails loudly.

Scenarios (run two at a time by a module fixture, to keep CI time down):
- killed while round 1 trains before its first checkpoint, then while round 1's ticket is being written;
- killed while a Trainer checkpoint of round 1 is being written, then inside round 1 after a complete
  checkpoint: the last run must skip the broken checkpoint, resume from the complete one, and restore the
  mask with the weights.
Resume paths that need no SIGKILL to reach (a crash in round 0 after the late-rewinding point, the order of a
mask read back from disk, leftovers of killed runs, interrupted folder swaps) are tested in-process at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import TrainerCallback

from helpers.cli import TINY, Run, run_cli, training_steps_logged
from helpers.tiny import tiny_bert
from hf_lth.engine.trainer import LTHTrainer
from hf_lth.pruning.masks import MASK_FILE, TicketMask
from hf_lth.settings.arguments import LTHArguments

STEPS_PER_ROUND = 8  # 64 rows / batch 8, one epoch
REWIND_STEP = 2
PRUNED_ROUND_STEPS = STEPS_PER_ROUND - REWIND_STEP  # a step:K round trains round 0's steps K+1..T
ROUNDS = 1
# Late rewinding and checkpoints every 3 steps: the most demanding resume settings.
FLAGS = TINY + ["--lth_rounds", str(ROUNDS), "--logging_steps", "1", "--save_strategy", "steps",
                "--save_steps", "3", "--lth_rewind", f"step:{REWIND_STEP}", "--seed", "3"]
VOLATILE = {"wall_time_s", "train_time_s", "eval_time_s", "eval_runtime", "test_runtime"}
FINISHED_LAYOUT = {f"round_{i:02d}" for i in range(ROUNDS + 1)} | {
    "lth_results.json", "lth_experiment.json", "rewind_points", "accuracy_vs_sparsity.png", "report.md"}


def command(out: Path) -> list[str]:
    return FLAGS + ["--output_dir", str(out)]


# ---------------------------------------------------------------- moments to kill at


def when_round_trains(round_index: int, after_step: int) -> dict:
    """Pause the child once the loss of optimizer step `after_step` of `round_index` is logged."""
    return {"round": round_index, "step": after_step}


def when_ticket_is_written(round_index: int) -> dict:
    """Pause the child just before `.round_XX.tmp-PID` is renamed to `round_XX`: the ticket is fully written
    under its temporary name, and the final name does not exist yet."""
    return {"rename": rf"\.round_{round_index:02d}\.tmp-\d+"}


def when_checkpoint_is_written(round_index: int, step: int) -> dict:
    """Pause the child while `checkpoint-<step>` of the round is half-written: Trainer fills the folder in place
    and writes `trainer_state.json` last; the pause comes just before it."""
    return {"save_state": rf"round_{round_index:02d}/checkpoint-{step}/trainer_state\.json$"}


# ---------------------------------------------------------------- scenarios (run once, two at a time)


def _chain(out: Path, kills) -> dict:
    """Run the command once per moment in `kills` (the child pauses there and is killed), then once to the end."""
    record = {"killed": [], "final": None}
    for moment, inspect in kills:
        run = run_cli(command(out), pause_at=moment)
        record["killed"].append((run, inspect(out) if run.killed else None))
    record["final"] = run_cli(command(out))
    return record


def _state(out: Path) -> dict:
    ckpt_root = out / "checkpoints"
    checkpoints = {}
    if ckpt_root.is_dir():
        for round_dir in sorted(ckpt_root.iterdir()):
            for ckpt in sorted(round_dir.iterdir()):
                checkpoints[f"{round_dir.name}/{ckpt.name}"] = sorted(os.listdir(ckpt))
    results = out / "lth_results.json"
    return {
        "entries": sorted(os.listdir(out)) if out.is_dir() else [],
        "checkpoints": checkpoints,
        "results_rounds": [r["round"] for r in json.loads(results.read_text())["rounds"]] if results.is_file() else None,
    }


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    jobs = {
        # killed while round 1 trains (before its first checkpoint), then while its ticket is written
        "train_then_ticket": lambda: _chain(root / "train_then_ticket", [
            (when_round_trains(1, after_step=1), _state),
            (when_ticket_is_written(1), _state),
        ]),
        # killed while checkpoint-3 of round 1 is written, then in round 1 once checkpoint-3 is complete:
        # the last run resumes inside the round, from its last complete checkpoint
        "checkpoints": lambda: _chain(root / "checkpoints", [
            (when_checkpoint_is_written(1, 3), _state),
            (when_round_trains(1, after_step=4), _state),
        ]),
        "reference": lambda: {"final": run_cli(command(root / "reference")), "killed": []},
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        done = {name: future.result() for name, future in futures.items()}
    done["root"] = root
    return done


# ---------------------------------------------------------------- comparison


def finished(run: Run, out: Path) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-4000:]}"
    entries = set(os.listdir(out))
    leftovers = [name for name in entries if name.startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert entries - {"checkpoints"} == FINISHED_LAYOUT
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir()), \
        "Trainer checkpoints of finished rounds must be removed"


def outcome(out: Path) -> dict:
    results = json.loads((out / "lth_results.json").read_text())
    rounds = {r["round"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in results["rounds"]}
    masks, weights = {}, {}
    for index in rounds:
        folder = out / f"round_{index:02d}"
        mask = TicketMask.load(folder / MASK_FILE)
        masks[index] = mask.digest()
        weights[index] = load_file(str(folder / "model.safetensors"))
        assert rounds[index]["mask_sha256"] == masks[index]
        for name, keep in mask.items():  # pruned weights are exactly zero in every ticket
            assert torch.count_nonzero(weights[index][name][~keep]) == 0, (index, name)
    return {"rounds": rounds, "masks": masks, "weights": weights, "best": results["best_round"]}


def assert_same_experiment(got: dict, want: dict, ignore: dict[int, set[str]] | None = None) -> None:
    ignore = ignore or {}
    assert sorted(got["rounds"]) == sorted(want["rounds"]) == list(range(ROUNDS + 1))
    assert got["masks"] == want["masks"], "masks differ from the uninterrupted run"
    for index in want["rounds"]:
        skip = ignore.get(index, set())
        a = {k: v for k, v in got["rounds"][index].items() if k not in skip}
        b = {k: v for k, v in want["rounds"][index].items() if k not in skip}
        assert a == b, f"round {index}: records differ: " + str(
            {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)})
        for name, tensor in want["weights"][index].items():
            assert torch.equal(got["weights"][index][name], tensor), f"round {index}: weights of {name} differ"
    assert got["best"] == want["best"]


@pytest.fixture(scope="module")
def reference(scenarios):
    out = scenarios["root"] / "reference"
    finished(scenarios["reference"]["final"], out)
    return outcome(out)


# ---------------------------------------------------------------- tests


@pytest.mark.slow
def test_kill_while_a_round_trains_and_while_its_ticket_is_written(scenarios, reference):
    out = scenarios["root"] / "train_then_ticket"
    (first, state1), (second, state2) = scenarios["train_then_ticket"]["killed"]
    assert first.killed and second.killed, "the run ended before the moment to kill it"
    # 1st kill: round 0 finished, round 1 training, before its first checkpoint
    assert "round_00" in state1["entries"] and "round_01" not in state1["entries"], state1
    assert state1["results_rounds"] == [0], "lth_results.json lists exactly the finished rounds"
    assert all(not key.startswith("round_01/") for key in state1["checkpoints"]), state1
    # 2nd kill: round 1's ticket half-written under its temporary name; the final name does not exist
    assert "round_01" not in state2["entries"], f"the kill came after the rename: {state2}"
    assert any(e.startswith(".round_01.tmp-") for e in state2["entries"]), state2
    final = scenarios["train_then_ticket"]["final"]
    finished(final, out)
    assert not training_steps_logged(final.lines, 0, STEPS_PER_ROUND), "finished round 0 must not train again"
    # Round 1 had finished training when its ticket was cut short, and its last checkpoint (step 6) was complete:
    # the rerun resumes from it and trains no step, then writes the ticket. Trainer's train_loss averages only
    # the steps run by this train() call (here none), so it alone may differ for that round.
    assert "trainer_state.json" in state2["checkpoints"].get(f"round_01/checkpoint-{PRUNED_ROUND_STEPS}", []), state2
    assert not training_steps_logged(final.lines, 1, STEPS_PER_ROUND)
    assert_same_experiment(outcome(out), reference, ignore={1: {"train_loss"}})


@pytest.mark.slow
def test_kill_while_a_checkpoint_is_written_then_resume_inside_the_round(scenarios, reference):
    out = scenarios["root"] / "checkpoints"
    (first, state1), (second, state2) = scenarios["checkpoints"]["killed"]
    # 1st kill: checkpoint-3 of round 1 exists without its trainer_state.json (Trainer writes it last)
    assert first.killed and "round_01" not in state1["entries"], state1
    assert "round_01/checkpoint-3" in state1["checkpoints"], state1
    assert "model.safetensors" in state1["checkpoints"]["round_01/checkpoint-3"], state1
    assert "trainer_state.json" not in state1["checkpoints"]["round_01/checkpoint-3"], state1
    # the 2nd run must not resume from the broken checkpoint: it restarts round 1, and is killed after step 4
    assert second.killed, f"the second run did not reach step 4 of round 1:\n{second.stderr[-3000:]}"
    steps = training_steps_logged(second.lines, 1, STEPS_PER_ROUND)
    assert min(steps) == 1, f"round 1 must restart from its beginning, logged steps {steps}"
    assert "round_01" not in state2["entries"], f"the kill came after round 1 finished: {state2}"
    complete = [int(key.rsplit("-", 1)[1]) for key, files in state2["checkpoints"].items()
                if key.startswith("round_01/") and "trainer_state.json" in files]
    assert complete, state2
    final = scenarios["checkpoints"]["final"]
    finished(final, out)
    steps = training_steps_logged(final.lines, 1, STEPS_PER_ROUND)
    assert steps == list(range(max(complete) + 1, PRUNED_ROUND_STEPS + 1)), \
        f"round 1 must resume after checkpoint-{max(complete)}, logged steps {steps}"
    # Mask and weights come back together: the resumed round ends bitwise equal to the uninterrupted one,
    # with its pruned weights at zero. Trainer's train_loss averages only the steps run by this train() call,
    # so it alone differs for the resumed round.
    assert_same_experiment(outcome(out), reference, ignore={1: {"train_loss"}})


# ---------------------------------------------------------------- resume paths, in-process


@pytest.fixture(scope="module")
def dataset():
    """32 rows labelled by their second token; in this module it replaces conftest's 96-row `dataset`."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 64, (32, 10), generator=g)
    labels = (ids[:, 1] >= 34).long()
    return Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": [[1] * 10] * 32, "labels": labels.tolist()})


class Crash(RuntimeError):
    pass


class AtStep(TrainerCallback):
    """Calls `action()` right after optimizer step `step` of the first train() call only."""

    def __init__(self, step, action):
        self.step, self.action, self.calls = step, action, 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.calls += 1

    def on_step_end(self, args, state, control, **kwargs):
        if self.calls == 1 and state.global_step == self.step:
            self.action()


def crash_at(step):
    """The process 'dies' at optimizer step `step` of the first train() call."""
    def die():
        raise Crash(f"simulated crash at step {step}")
    return AtStep(step, die)


def slow_step(seconds, step=1):
    """Time spent at optimizer step `step` of the first train() call (before the first checkpoint)."""
    return AtStep(step, lambda: time.sleep(seconds))


def trainer_for(out: Path, dataset, callbacks=None, **overrides):
    settings = dict(output_dir=str(out), lth_rounds=1, max_steps=2, per_device_train_batch_size=8,
                    disable_tqdm=True, seed=11, report_to=[], dataloader_pin_memory=False)
    settings.update(overrides)
    return LTHTrainer(model=tiny_bert(), args=LTHArguments(**settings), train_dataset=dataset, callbacks=callbacks)


def masks_of(out: Path, rounds: int) -> list[str]:
    return [TicketMask.load(out / f"round_{i:02d}" / MASK_FILE).digest() for i in range(rounds + 1)]


@pytest.mark.slow
def test_crash_in_round_0_after_the_late_rewind_point_resumes_from_its_checkpoint(tmp_path, dataset):
    """step:1 rewinding, checkpoints every 2 steps, crash at step 3 of round 0: the rerun resumes from
    checkpoint-2, after the rewind point was captured, and must still finish the same experiment."""
    settings = dict(lth_rewind="step:1", save_strategy="steps", save_steps=2, max_steps=4)
    trainer_for(tmp_path / "straight", dataset, **settings).find_tickets()
    with pytest.raises(Crash):
        trainer_for(tmp_path / "crashed", dataset, callbacks=[crash_at(3)], **settings).find_tickets()
    assert (tmp_path / "crashed" / "rewind_points" / "step_000001.safetensors").is_file()
    assert (tmp_path / "crashed" / "checkpoints" / "round_00" / "checkpoint-2" / "trainer_state.json").is_file()
    trainer_for(tmp_path / "crashed", dataset, **settings).find_tickets()
    assert masks_of(tmp_path / "crashed", 1) == masks_of(tmp_path / "straight", 1)
    a = load_file(str(tmp_path / "crashed" / "rewind_points" / "step_000001.safetensors"))
    b = load_file(str(tmp_path / "straight" / "rewind_points" / "step_000001.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in b)


@pytest.mark.slow
def test_resume_from_a_checkpoint_without_the_mask_callback_state(tmp_path, dataset):
    """A checkpoint whose trainer_state.json has no TicketMaskCallback entry (written by an older hf_lth) must
    resume: Trainer's next checkpoint used to fail with KeyError: 'TicketMaskCallback'."""
    settings = dict(save_strategy="steps", save_steps=2, max_steps=6)
    trainer_for(tmp_path / "straight", dataset, **settings).find_tickets()
    with pytest.raises(Crash):
        trainer_for(tmp_path / "old", dataset, callbacks=[crash_at(3)], **settings).find_tickets()
    state_file = tmp_path / "old" / "checkpoints" / "round_00" / "checkpoint-2" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    del state["stateful_callbacks"]["TicketMaskCallback"]
    state_file.write_text(json.dumps(state))
    trainer_for(tmp_path / "old", dataset, **settings).find_tickets()
    assert masks_of(tmp_path / "old", 1) == masks_of(tmp_path / "straight", 1)


@pytest.mark.slow
def test_a_resumed_round_counts_the_time_before_its_checkpoint(tmp_path, dataset):
    settings = dict(save_strategy="steps", save_steps=2, max_steps=4, lth_rounds=0)
    with pytest.raises(Crash):
        trainer_for(tmp_path / "run", dataset, callbacks=[slow_step(1.5), crash_at(3)], **settings).find_tickets()
    saved = json.loads((tmp_path / "run" / "checkpoints" / "round_00" / "checkpoint-2" / "trainer_state.json").read_text())
    before = saved["stateful_callbacks"]["TicketMaskCallback"]["attributes"]["elapsed_s"]
    assert before >= 1.5
    results = trainer_for(tmp_path / "run", dataset, **settings).find_tickets()
    assert results["rounds"][0]["wall_time_s"] >= before


def test_a_round_after_a_resume_prunes_as_an_uninterrupted_run(tmp_path, dataset):
    """The mask read back from round 0's folder must prune exactly as the one in memory would: the random
    strategy's per-tensor keys (and magnitude pruning's tie-breaking) follow the order of the mask's tensors,
    and a mask file read back must keep the order it was written in."""
    settings = dict(lth_strategy="random")
    trainer_for(tmp_path / "straight", dataset, lth_rounds=1, **settings).find_tickets()
    trainer_for(tmp_path / "resumed", dataset, lth_rounds=0, **settings).find_tickets()
    trainer_for(tmp_path / "resumed", dataset, lth_rounds=1, **settings).find_tickets()
    assert masks_of(tmp_path / "resumed", 1) == masks_of(tmp_path / "straight", 1)


def test_stale_temporary_folders_and_checkpoints_are_cleared_on_resume(tmp_path, dataset):
    """What a kill leaves (a half-written ticket under its temporary name, a half-written rewind point,
    checkpoints of a round that finished) is removed when the experiment is resumed, never read."""
    out = tmp_path / "run"
    trainer_for(out, dataset, lth_rounds=0).find_tickets()
    (out / ".round_01.tmp-999999").mkdir()
    (out / ".round_01.tmp-999999" / "config.json").write_text("{}")
    (out / "rewind_points" / ".step_000000.safetensors.tmp-999999").write_bytes(b"half")
    (out / "checkpoints" / "round_00" / "checkpoint-2").mkdir(parents=True)
    results = trainer_for(out, dataset, lth_rounds=1).find_tickets()
    assert [r["round"] for r in results["rounds"]] == [0, 1]
    assert not [p.name for p in [*out.iterdir(), *(out / "rewind_points").iterdir()] if p.name.startswith(".")]
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_an_interrupted_overwrite_never_leaves_a_round_that_looks_finished(tmp_path, monkeypatch):
    """Replacing a folder (atomic_dir onto an existing round) must never expose a partial folder under the final
    name, even if the process dies while the old folder is being removed."""
    from hf_lth.storage import atomic as hf_io

    target = tmp_path / "round_00"
    target.mkdir()
    names = ("config.json", MASK_FILE, "model.safetensors")
    for name in names:
        (target / name).write_text("old")
    real_rmtree = shutil.rmtree

    def dying_rmtree(path, *args, **kwargs):  # removes one file, then the process dies
        victims = sorted(Path(path).iterdir())
        if victims:
            victims[-1].unlink()
        raise Crash(f"killed while removing {path}")

    monkeypatch.setattr(hf_io.shutil, "rmtree", dying_rmtree)
    with pytest.raises(Crash):
        with hf_io.atomic_dir(target) as tmp:
            for name in names:
                (tmp / name).write_text("new")
    monkeypatch.setattr(hf_io.shutil, "rmtree", real_rmtree)
    # Under the final name: the complete old folder, the complete new one, or nothing; never a remnant.
    if target.exists():
        assert sorted(os.listdir(target)) == sorted(names), "a partial folder is left under the final name"
        assert len({(target / n).read_text() for n in names}) == 1


def test_claim_protects_finished_work_and_lets_an_empty_experiment_go(tmp_path):
    """Another experiment is refused while the folder holds a finished round or a complete Trainer checkpoint;
    a folder whose experiment got nowhere (settings only, a broken checkpoint) is taken over."""
    from hf_lth.errors import LTHInputError
    from hf_lth.storage.folder import SETTINGS_FILE, ExperimentFolder

    folder = ExperimentFolder(tmp_path / "run")
    folder.claim({"seed": 1}, {})
    broken = folder.checkpoint_dir(0) / "checkpoint-2"
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"half")
    folder.claim({"seed": 2}, {})  # nothing finished, nothing complete: taken over, the broken checkpoint removed
    assert json.loads((folder.root / SETTINGS_FILE).read_text())["trunk"] == {"seed": 2}
    assert not broken.exists()
    complete = folder.checkpoint_dir(0) / "checkpoint-4"
    complete.mkdir(parents=True)
    (complete / "trainer_state.json").write_text("{}")
    with pytest.raises(LTHInputError, match=r"seed: 2 -> 3"):
        folder.claim({"seed": 3}, {})
    assert complete.is_dir()
    (folder.root / SETTINGS_FILE).write_text("{broken")
    with pytest.raises(LTHInputError, match="lth_experiment.json is unreadable"):
        folder.claim({"seed": 2}, {})
    folder.claim({"seed": 3}, {}, overwrite=True)
    assert not complete.exists() and json.loads((folder.root / SETTINGS_FILE).read_text())["trunk"] == {"seed": 3}
