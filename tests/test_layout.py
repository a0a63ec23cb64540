"""The package's layers (`docs/design.md`, "The map"): no import that runs goes up a layer, and no module cycle.

Each sub-package of `hf_lth` (and each top-level module) has a place in `LAYERS`, lowest first; a module may import
its own sub-package and those below it, never one above. Imports under `if TYPE_CHECKING:` do not run and may name a
type from above (the methods' hooks take the engine's `RoundState`). The root `hf_lth/__init__.py` is the public face
over every layer and is not checked.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import hf_lth

PACKAGE = Path(hf_lth.__file__).parent

# Lowest first. A layer imports only the layers before it.
LAYERS = [
    "errors", "progress", "models",  # used by everything; `models/` imports nothing of hf_lth at all
    "storage",  # the experiment folder on disk
    "data", "pruning",
    "loading",
    "structure", "rewinding", "controls", "methods",  # the registries the engine plugs in
    "settings",
    "engine",
    "stats", "report", "hub", "study", "analysis",
    "run",
]


def _layer(module: str) -> str:
    return module.split(".")[1]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "metric_scripts" in parts or parts == ("hf_lth", "__init__"):
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"


def _runtime_imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The hf_lth modules that `module` imports when it runs (at import time or in a function), not for types."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                for alias in child.names:  # `from . import models` imports a module
                    name = f"{base}.{alias.name}"
                    found.add(name if name in known else base)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in known and name != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _runtime_imports(module, path, set(modules)) for module, path in modules.items()}


def test_every_sub_package_and_top_level_module_has_a_layer():
    assert {_layer(module) for module in _modules()} == set(LAYERS)


def test_no_import_runs_up_a_layer():
    upward = [f"{module} imports {target}" for module, targets in _graph().items() for target in sorted(targets)
              if target != "hf_lth" and LAYERS.index(_layer(target)) > LAYERS.index(_layer(module))]
    assert not upward, "\n".join(upward)


def test_the_engine_imports_no_report_hub_study_or_analysis_code():
    graph = _graph()
    reached, todo = set(), ["hf_lth.engine.trainer"]
    while todo:  # everything the trainer loads, directly or not
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph.get(module, ()))
    assert not {m for m in reached if _layer(m) in {"stats", "report", "hub", "study", "analysis"}}


# Cycles through an import inside a function, known and left to the module's owner: (importer, imported inside a
# function). study/report.py's `write_report` dispatches to study/time_to_ticket.py, which builds on study/report.py.
KNOWN_LAZY_CYCLES = {("hf_lth.study.report", "hf_lth.study.time_to_ticket")}


def test_the_modules_import_one_another_without_a_cycle():
    graph = {m: targets - {"hf_lth"} for m, targets in _graph().items()}
    for importer, imported in KNOWN_LAZY_CYCLES:
        graph[importer].discard(imported)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_the_check_sees_an_upward_import(tmp_path):
    """The checker itself: a function-level import of the hub from the engine counts."""
    fake = tmp_path / "trainer.py"
    fake.write_text("def f():\n    from ..hub.tickets import push_ticket\n")
    imports = _runtime_imports("hf_lth.engine.trainer", fake, {"hf_lth.hub.tickets"})
    assert imports == {"hf_lth.hub.tickets"}
    fake.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..hub.tickets import push_ticket\n")
    assert _runtime_imports("hf_lth.engine.trainer", fake, {"hf_lth.hub.tickets"}) == set()
