"""Study files: what they name becomes `python -m hf_lth.run` commands; a wrong field is named in the error."""

import sys

import pytest

from hf_lth.errors import LTHInputError
from hf_lth.study import load_study

from helpers.cli import REPO_ROOT


def _write(tmp_path, text):
    (tmp_path / "base.json").write_text("{}")
    path = tmp_path / "study.yaml"
    path.write_text(text.replace("BASE", str(tmp_path / "base.json")))
    return path


GOOD = """
name: s
base: BASE
output: runs/s_seed{seed}
results: results/s_seed{seed}
seeds: [1, 2]
flags: {bf16: true, lth_controls: [random_pruning, random_reinit]}
lines:
  main: {lth_rewind: init}
  late: {lth_rewind: "step:5", lth_control_rounds: [5, 10]}
"""


def test_lines_become_commands_on_one_trunk_per_seed(tmp_path):
    study = load_study(_write(tmp_path, GOOD))
    main, late = study.lines
    assert study.command(2, main) == [
        sys.executable, "-m", "hf_lth.run", str(tmp_path / "base.json"), "--seed", "2", "--output_dir", "runs/s_seed2",
        "--bf16", "true", "--lth_controls", "random_pruning,random_reinit", "--lth_rewind", "init"]
    assert study.command(1, late)[8:10] == ["--lth_branch", "late"]
    assert study.command(1, late)[-2:] == ["--lth_control_rounds", "5,10"]
    assert str(study.results_dir(1)) == "results/s_seed1"
    assert "--lth_resume_from" not in study.command(2, main)


def test_a_study_that_publishes_its_masks_lets_its_main_line_go_on_from_them(tmp_path):
    study = load_study(_write(tmp_path, GOOD.replace("name: s", "name: s\npublish_masks: true")))
    main, late = study.lines
    assert study.publish_masks
    command = study.command(2, main)
    assert command[command.index("--lth_resume_from") + 1] == "results/s_seed2"
    assert "--lth_resume_from" not in study.command(2, late)  # a branch is not restored


@pytest.mark.parametrize("change, message", [
    (("seeds: [1, 2]", "seeds: one"), "seeds must be a list of integers"),
    (("  main: {lth_rewind: init}\n", ""), "the first line must be 'main'"),
    (("output: runs/s_seed{seed}", "output: runs/s"), "must contain '{seed}'"),
    (("name: s", "name: s\ncolour: red"), r"unknown field\(s\) \['colour'\]"),
    (("lth_rewind: init}", "lth_rewind: init, seed: 3}"), "sets lth_branch, output_dir or seed"),
    (("base: BASE", "base: nowhere.json"), "base nowhere.json does not exist"),
    (("lines:", "lines: [\n"), "is not valid YAML"),
    (("name: s", "name: s\npublish_masks: yes please"), "publish_masks must be true or false"),
    (("results: results/s_seed{seed}", "publish_masks: true"), "and true needs results"),
])
def test_a_wrong_field_is_named(tmp_path, change, message):
    with pytest.raises(LTHInputError, match=message):
        load_study(_write(tmp_path, GOOD.replace(*change)))


def test_the_shipped_study_files_load():
    studies = sorted((REPO_ROOT / "experiments" / "studies").glob("*.yaml"))
    assert studies
    import os

    here = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        for path in studies:
            study = load_study(path)
            assert study.lines[0].is_main and study.results
    finally:
        os.chdir(here)


def test_studies_sharing_a_seeds_folder_run_there_one_after_another(tmp_path):
    from hf_lth.study.runner import run_studies

    first = load_study(_write(tmp_path, GOOD))
    second = load_study(_write(tmp_path, GOOD.replace("late:", "cheap:").replace("name: s", "name: t")))
    printed = []
    run_studies([first, second], jobs=2, dry_run=True, echo=printed.append)
    folders = [line.split("--output_dir ")[1].split()[0] for line in printed]
    assert folders == ["runs/s_seed1"] * 4 + ["runs/s_seed2"] * 4  # one chain per folder, never interleaved
    assert [line.split("--lth_branch ")[1].split()[0] for line in printed[:4] if "--lth_branch" in line] == ["late", "cheap"]


def test_a_bf16_study_is_planned_on_a_cpu_without_bf16_instructions(tmp_path, monkeypatch):
    """A study trained in bf16 on another machine is planned (and so run, listed and reported) here too: only
    training refuses bf16 on this CPU."""
    import hf_lth.settings.arguments as arguments

    monkeypatch.setattr(arguments, "accelerator_available", lambda: False)
    monkeypatch.setattr(arguments, "accelerator_with_bf16", lambda: False)
    monkeypatch.setattr(arguments, "cpu_bf16_instructions", lambda: ())
    study = load_study(_write(tmp_path, GOOD.replace("main: {lth_rewind: init}", "main: {lth_rewind: init, lth_rounds: 3}")))
    plan = study.plan(study.lines[0])
    assert plan.rounds == 3 and plan.controls == {"random_pruning": [1, 2, 3], "random_reinit": [1, 2, 3]}
    with pytest.raises(LTHInputError, match="amx_bf16 or avx512_bf16"):
        arguments.LTHArguments(output_dir=str(tmp_path), bf16=True)
