"""`hf-lth-analyze masks` on tiny finished experiments: JSON and figures, and clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import REPO_ROOT, TINY, cli_env

from hf_lth.analysis.cli import describe_masks, main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of a tiny TextCNN, 2 rounds each (rewind points at steps 0 and 2), with a `late` branch rewinding
    to step 2."""
    root = tmp_path_factory.mktemp("analysis")
    folders = []
    for seed in (1, 2):
        out = root / f"seed{seed}"
        base = [sys.executable, str(REPO_ROOT / "examples" / "run_lth.py"), *TINY, "--lth_rounds", "2",
                "--seed", str(seed), "--output_dir", str(out), "--lth_rewind_steps", "2"]
        for extra in ([], ["--lth_branch", "late", "--lth_rewind", "step:2"]):
            done = subprocess.run(base + extra, capture_output=True, text=True, env=cli_env(), timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
        folders.append(out)
    return folders


@pytest.mark.slow
def test_masks_writes_overlaps_heatmap_and_vocabulary(runs, tmp_path, capsys):
    assert main(["masks", *map(str, runs), "--round", "2", "--lines", "main,late", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "masks.json").read_text())
    assert set(result["between_seeds"]) == {"main", "late"} and result["between_seeds"]["main"]["pairs"] == 1
    assert list(result["between_lines"]) == ["main vs late"] and result["between_lines"]["main vs late"]["pairs"] == 2
    for value in (*result["between_seeds"].values(), *result["between_lines"].values()):
        assert 0.0 < value["random_iou"] < 1.0 and 0.0 < value["iou"] <= 1.0
    assert sorted(result["sparsity_by_round"]) == ["1", "2"]
    vocabulary = result["vocabulary"]
    assert vocabulary["tensor"] == "embedding.weight" and len(vocabulary["bands"]) == 10
    for name in ("overlap.png", "sparsity_rounds_tensors.png", "vocabulary.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "between lines main vs late: IoU" in capsys.readouterr().out


@pytest.mark.slow
def test_unfinished_round_is_an_error_naming_folder_and_line(runs, tmp_path, capsys):
    assert main(["masks", str(runs[0]), "--round", "3", "--lines", "main", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {runs[0]}: round 3 is not finished on line(s) main."
    assert not any(tmp_path.iterdir())


def test_folder_without_results_is_an_error(tmp_path, capsys):
    assert main(["masks", str(tmp_path), "--round", "1", "--out", str(tmp_path / "out")]) == 2
    assert "holds no lth_results.json" in capsys.readouterr().err


@pytest.mark.slow
def test_instability_trains_two_copies_per_pair_and_resumes(runs, tmp_path, capsys):
    argv = ["instability", str(runs[0]), "--steps", "0,2", "--rounds", "0,2", "--points", "3", "--out", str(tmp_path)]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert not [line for line in printed if line.startswith("{")], printed  # no Trainer log dicts
    assert len(printed) == 8 and all(line.startswith(("instability: ", "round ", "main round ")) for line in printed)
    result = json.loads((tmp_path / "instability.json").read_text())
    assert sorted(result["runs"]) == ["main round 2, step 0", "main round 2, step 2", "round 0, step 0",
                                      "round 0, step 2"]
    for run in result["runs"].values():
        errors = run["errors"]
        assert run["alphas"] == [0.0, 0.5, 1.0] and len(errors) == 3
        assert run["instability"] == pytest.approx(max(errors) - (errors[0] + errors[-1]) / 2)
    assert result["runs"]["main round 2, step 0"]["sparsity"] > 0 and result["runs"]["round 0, step 0"]["sparsity"] == 0
    assert (tmp_path / "instability.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(argv) == 0  # resumed: nothing left to train
    assert "training two copies" not in capsys.readouterr().out


@pytest.mark.slow
def test_instability_needs_the_rewind_point(runs, tmp_path, capsys):
    assert main(["instability", str(runs[0]), "--steps", "3", "--out", str(tmp_path)]) == 2
    assert "kept no rewind point at step(s) [3]" in capsys.readouterr().err


@pytest.mark.slow
def test_masks_of_one_folder_says_what_it_found(runs, tmp_path, capsys):
    assert main(["masks", str(runs[0]), "--round", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0].startswith(f"round 2 of {runs[0].name}: ") and "% sparse" in printed[0]
    assert printed[1].startswith("no mask overlap: it compares several folders")
    assert printed[2].startswith("embedding.weight: ") and "rows fully pruned" in printed[2]
    assert printed[3] == f"written to {tmp_path}: masks.json, sparsity_rounds_tensors.png, vocabulary.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks.json", "sparsity_rounds_tensors.png", "vocabulary.png"]


def test_describe_masks():
    result = {"round": 2, "folders": ["runs/seed1", "runs/seed2"],
              "sparsity_by_round": {1: {"a": 0.2, "b": 0.1}, 2: {"a": 0.4, "b": 0.3}},
              "between_seeds": {"main": {"iou": 0.5, "iou_std": 0.01, "random_iou": 0.4, "pairs": 1}},
              "between_lines": {}}
    assert describe_masks(result, Path("out")) == [
        "round 2 of seed1: 2 pruned tensors, 30.0% to 40.0% sparse (sparsity_rounds_tensors.png: every round and tensor)",
        "between seeds main: IoU 50.0% ± 1.0 (random 40.0%, 1 pair(s))",
        "written to out: masks.json, sparsity_rounds_tensors.png, overlap.png",
    ]
