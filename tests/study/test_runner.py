"""`hf-lth-study run` and `publish` on a tiny study of the shipped sample: lines run on one trunk, a rerun skips
what is finished, and the published records carry every round's and control's predictions."""

import json
import subprocess
import sys

from hf_lth.study.cli import main
from hf_lth.study.runner import published_in_full
from hf_lth.study.spec import load_study

from helpers.cli import REPO_ROOT

TINY = {
    "model_name_or_path": "cnn", "config_overrides": "embedding_dim=16,num_filters=8", "vocab_size": 2000,
    "max_train_samples": 96, "max_eval_samples": 48, "max_test_samples": 48, "max_seq_length": 64,
    "num_train_epochs": 1, "per_device_train_batch_size": 16, "lth_rounds": 2, "lth_rewind_steps": "0,2",
    "disable_tqdm": True, "report_to": "none", "save_strategy": "no", "output_dir": "unused",
}


def test_a_study_runs_resumes_and_publishes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    (tmp_path / "study.yaml").write_text(
        "name: tiny\nbase: tiny.json\noutput: runs/tiny_seed{seed}\nresults: results/tiny_seed{seed}\nseeds: [3]\n"
        "flags: {lth_controls: random_pruning, lth_control_rounds: 2}\n"
        "lines:\n  main: {}\n  late: {lth_rewind: 'step:2'}\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    assert main(["run", "study.yaml", "--jobs", "1", "--publish"]) == 0
    results = json.loads((tmp_path / "runs/tiny_seed3/branches/late/lth_results.json").read_text())
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2] and results["rounds"][1]["rewind"] == "step:2"
    published = tmp_path / "results/tiny_seed3"
    names = {p.relative_to(published).as_posix() for p in published.rglob("*") if p.is_file()}
    for line in ("", "branches/late/"):
        assert {f"{line}lth_results.json", f"{line}report.md", f"{line}predictions/round_01.safetensors",
                f"{line}predictions/round_02.safetensors", f"{line}predictions/random_pruning_round_02.safetensors"} <= names
    assert "predictions/round_00.safetensors" in names and "branches/late/predictions/round_00.safetensors" not in names
    assert not any(name.endswith("model.safetensors") for name in names)
    assert main(["run", "study.yaml"]) == 0  # everything finished: nothing trains again
    log = (tmp_path / "runs/logs/tiny_seed3_late.log").read_text()
    assert "nothing left to train" in log.split("\n=== ")[-1]

    assert main(["report", "study.yaml", "--out", "report"]) == 0
    text = (tmp_path / "report/tiny.md").read_text()
    assert (tmp_path / "report/tiny.png").stat().st_size > 1000
    rows = [line for line in text.splitlines() if line.startswith("| main |") or line.startswith("| late |")]
    assert len(rows) == 5  # main rounds 0-2, late rounds 1-2
    assert all(row.split(" | ")[3].startswith(("1", "0 (1 degenerate, left out)")) for row in rows)
    import shutil

    shutil.rmtree(tmp_path / "runs")  # the published copy alone gives the same report
    assert main(["report", "study.yaml", "--out", "again"]) == 0
    assert (tmp_path / "again/tiny.md").read_text() == text
    assert main(["run", "study.yaml"]) == 0  # published in full, runs/ gone: a fresh machine retrains nothing
    assert not (tmp_path / "runs/tiny_seed3").exists()
    (published / "branches/late/lth_results.json").unlink()  # a line not published in full: the seed runs again
    assert published_in_full(load_study(tmp_path / "study.yaml"), 3) is False


def test_bad_input_exits_2_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hf_lth.study.cli", "run", str(tmp_path / "missing.yaml")],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: study file")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_study_that_publishes_its_masks_publishes_them_while_its_line_runs(tmp_path, monkeypatch):
    from hf_lth.study.publish import publish_study
    from hf_lth.study.runner import run_studies

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.json").write_text(json.dumps({**TINY, "lth_rewind_steps": "0"}))
    (tmp_path / "study.yaml").write_text(
        "name: tiny\nbase: tiny.json\noutput: runs/tiny_seed{seed}\nresults: results/tiny_seed{seed}\n"
        "publish_masks: true\nseeds: [3]\nlines:\n  main: {}\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    study = load_study(tmp_path / "study.yaml")
    polls = []

    def poll(polled, seed):
        polls.append((polled.name, seed))
        publish_study(polled, [seed])

    outcomes = run_studies([study], on_poll=poll, poll_seconds=0.2)
    assert [o.exit_code for o in outcomes] == [0]
    assert polls and set(polls) == {("tiny", 3)}, "the line was not polled while it ran"
    publish_study(study)
    state = tmp_path / "results/tiny_seed3/state"
    assert sorted(p.relative_to(state).as_posix() for p in state.rglob("*") if p.is_file()) == [
        "initial_weights.json", "masks/round_00.safetensors", "masks/round_01.safetensors",
        "masks/round_02.safetensors"]  # no pending mask: every round finished
