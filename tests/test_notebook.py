"""The Colab notebook runs top to bottom on CPU at tiny size (as CI runs it), and is committed without outputs."""

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "examples" / "notebooks" / "lottery_tickets.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(not cell["outputs"] and cell["execution_count"] is None for cell in code)


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
