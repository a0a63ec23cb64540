"""The Colab notebook runs top to bottom on CPU at tiny size (as CI runs it), and is committed without outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "examples" / "notebooks" / "lottery_tickets.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(not cell["outputs"] and cell["execution_count"] is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_at_tiny_size_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LTH_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs)
    assert "best round (chosen on validation):" in text
    assert "Resuming" in text  # the second find_tickets continued the folder
    experiment = tmp_path / "runs" / "notebook_imdb_sample_cnn"
    for name in ("round_00", "round_01", "round_02", "controls/random_pruning/round_01", "report.md"):
        assert (experiment / name).exists(), name
    assert (tmp_path / "staged_ticket" / "README.md").is_file()
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert images  # the plot is shown inline


def test_the_notebook_uses_the_api_of_getting_started():
    import re

    def imported(text: str) -> set[str]:
        return {name.strip() for block in re.findall(r"from hf_lth import \(([^)]*)\)", text)
                for name in block.replace("\n", " ").split(",") if name.strip()}

    page = (REPO_ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    cells = "\n".join(cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code")
    assert imported(page) and imported(page) <= imported(cells)


def install_cell() -> str:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return next(cell.source for cell in cells if cell.cell_type == "code" and "def find_clone" in cell.source)


@pytest.fixture
def without_hf_lth(monkeypatch):
    """`import hf_lth` fails until pip installs it: pip is not run, its arguments are recorded, and the package is
    then importable again. Returns the recorded installs."""
    import hf_lth as installed

    installs = []

    def check_call(command, *args, **kwargs):
        assert command[:5] == [sys.executable, "-m", "pip", "install", "--quiet"], command
        installs.append(command[5:])
        sys.modules["hf_lth"] = installed
        return 0

    monkeypatch.setitem(sys.modules, "hf_lth", None)
    monkeypatch.setattr(subprocess, "check_call", check_call)
    monkeypatch.delenv("HF_LTH_REPO", raising=False)
    return installs


def test_the_install_cell_installs_from_the_clone_it_is_opened_in(without_hf_lth, monkeypatch, capsys):
    monkeypatch.chdir(NOTEBOOK.parent)
    exec(install_cell(), {})
    assert without_hf_lth == [[str(REPO_ROOT)]]
    assert capsys.readouterr().out.startswith("hf_lth ")


def test_the_install_cell_outside_a_clone_says_what_to_set(without_hf_lth, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match=r"set os.environ\['HF_LTH_REPO'\] to the repository's git URL"):
        exec(install_cell(), {})
    assert without_hf_lth == []
    monkeypatch.setenv("HF_LTH_REPO", "https://github.com/someone/hf_lth.git")
    exec(install_cell(), {})
    assert without_hf_lth == [["git+https://github.com/someone/hf_lth.git"]]


def test_the_install_cell_only_imports_an_installed_hf_lth(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: pytest.fail("pip was run"))
    exec(install_cell(), {})


def test_the_notebook_points_to_pages_that_exist():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "README" not in text.replace('staged / \\"README.md\\"', "")  # its sections moved to docs/
    for link in ("../../docs/how-to/devices.md", "../../docs/getting-started.md"):
        assert link in text and (NOTEBOOK.parent / link).resolve().is_file(), link
