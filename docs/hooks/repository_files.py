"""MkDocs hook: serve the result plots that the pages show from outside `docs/`.

The pages link to them as `../results/x.png`, which works on GitHub; the site gets a copy of each under
`results/` and the links are rewritten to it, so that `mkdocs build --strict` checks them like any other link.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_FOLDERS = ("results", "benchmarks/results")
_LINK = re.compile(r"\]\((?P<up>(?:\.\./)+)(?P<path>(?:results|benchmarks/results)/[^)\s#]+)")


def on_files(files, config):
    for folder in SHARED_FOLDERS:
        for path in sorted((REPOSITORY / folder).rglob("*")):
            if path.is_file() and path.suffix == ".png":  # the plots the pages show (tables are quoted in them)
                files.append(File(str(path.relative_to(REPOSITORY)), str(REPOSITORY), config["site_dir"],
                                  config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")  # a page in docs/how-to/ is one folder below the site root

    def relink(match: re.Match) -> str:
        return "](" + "../" * depth + match["path"]

    return _LINK.sub(relink, markdown)
