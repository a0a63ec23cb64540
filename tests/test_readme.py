"""The documentation's Python example (Getting started) runs as written, offline, and writes what the CLI writes;
the README keeps its two commands and links to the pages."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def readme_python_example() -> str:
    page = (REPO_ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    section = page.split("\n## In Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.slow
def test_readme_python_example_runs_offline(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_python_example())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "best round (chosen on validation):" in run.stdout
    out = tmp_path / "runs" / "my_ticket"
    for name in ("lth_results.json", "report.md", "accuracy_vs_sparsity.png", "round_02",
                 "controls/random_pruning/round_02"):
        assert (out / name).exists(), name
    assert "| round | sparsity %" in (out / "report.md").read_text()


def test_readme_is_the_two_command_quick_start_and_links_the_pages():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("\n## Quick start (two commands, offline)\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick, re.DOTALL)
    assert [c.strip().splitlines()[0].split(" && ")[-1] for c in commands] == [
        "accelerate launch --config_file examples/accelerate_single.yaml examples/run_lth.py",
        "python -m pytest tests",
    ]
    for link in re.findall(r"\]\((docs/[^)#]+|examples/[^)#]+)\)", readme):
        assert (REPO_ROOT / link).is_file(), link


def test_readme_explains_the_torch_pin_with_setups_range():
    setup = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
    low, high = re.search(r'"torch>=([\d.]+),<([\d.]+)"', setup).groups()
    last = f"{high.split('.')[0]}.{int(high.split('.')[1]) - 1}"  # <2.15: up to 2.14
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"any torch from {low} to {last}" in readme
    assert "leave `torch==2.13.0` out and pip keeps yours" in readme


def test_no_pointer_to_readme_sections_that_moved_to_the_docs():
    """The TPU/GPU and API sections left the README for docs/: nothing points to them there any more."""
    for name in ("setup.py", "examples/accelerate_single.yaml", "examples/notebooks/lottery_tickets.ipynb"):
        text = (REPO_ROOT / name).read_text(encoding="utf-8")
        assert not re.search(r"README's|README says|see README|README,", text), name
    assert "docs/how-to/devices.md" in (REPO_ROOT / "examples" / "accelerate_single.yaml").read_text()


def test_ci_and_the_readme_run_the_slow_tests_too():
    """`-m "not slow"` is the quick loop while developing; CI (`.ci/run`) and the README's command run every test."""
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if "-m pytest" in line)
    assert " -m " not in command.split("-m pytest", 1)[1] and "not slow" not in ci
    assert "python -m pytest tests" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert 'python -m pytest -m "not slow" tests' in (REPO_ROOT / "docs" / "getting-started.md").read_text()
