"""The README's Python example runs as written, offline, and writes what the CLI writes."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def readme_python_example() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## In Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


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
