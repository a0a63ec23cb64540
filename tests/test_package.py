"""The package's lazy namespace (PEP 562): every public name resolves, and the first one registers the models."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import hf_lth

INIT = Path(hf_lth.__file__)


def test_every_public_name_resolves_to_its_module():
    for name, module in hf_lth._EXPORTS.items():
        value = getattr(hf_lth, name)
        assert getattr(value, "__module__", f"hf_lth.{module}").startswith(f"hf_lth.{module}"), name
    assert set(hf_lth.__all__) <= set(dir(hf_lth))
    with pytest.raises(AttributeError, match="no_such_name"):
        hf_lth.no_such_name  # noqa: B018


def test_the_type_checking_imports_list_the_same_names():
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    imported = {(node.module, alias.name) for node in block.body for alias in node.names}
    assert imported == {(module, name) for name, module in hf_lth._EXPORTS.items()}


@pytest.mark.slow
def test_importing_a_light_module_loads_nothing_heavy_and_the_first_name_registers_the_models():
    code = (
        "import sys, hf_lth, hf_lth.errors, hf_lth.report.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'matplotlib'}))\n"
        "from hf_lth import TicketMask\n"
        "from transformers import AutoConfig\n"
        "print(AutoConfig.for_model('text_cnn').model_type, AutoConfig.for_model('text_rnn').model_type)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=INIT.parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["[]", "text_cnn text_rnn"]
