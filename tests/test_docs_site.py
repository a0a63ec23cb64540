"""The documentation site builds with `mkdocs build --strict`: no broken link, missing page or unrendered docstring."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = ["index", "getting-started", "concepts", "how-to/own-data", "how-to/pretrained", "how-to/hub",
         "how-to/devices", "how-to/resuming", "how-to/studies", "how-to/methods", "how-to/analyses", "results", "performance",
         "reliability", "design", "reference"]


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(tmp_path):
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    for page in PAGES:
        built = site / ("index.html" if page == "index" else f"{page}/index.html")
        assert built.is_file(), page
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    for name in ("LTHTrainer", "TicketMask", "shrink_model", "find_tickets", "push_ticket"):
        assert name in reference, name
    assert (site / "results" / "imdb_sample_cnn_time_to_ticket.png").is_file()  # a plot the results page shows


def test_every_docs_page_is_in_the_navigation():
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))

    def pages(entry):
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from pages(value)
        else:
            for item in entry:
                yield from pages(item)

    in_nav = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(REPO_ROOT / "docs")) for p in (REPO_ROOT / "docs").rglob("*.md")}
    assert on_disk == in_nav == {f"{page}.md" for page in PAGES}
