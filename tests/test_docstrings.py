"""Every public function and class of `hf_lth` documents its parameters in a Google-style docstring.

A function needs an `Args:` section naming each parameter and, unless it returns None, a `Returns:` section; a
class needs `Args:` for its `__init__` parameters. A parameter counts as documented when a line of the docstring,
stripped, starts with `name:` or `name (`. Exempt: the dataclasses whose fields are CLI flags documented by their
`help` metadata, exceptions, and the `Control` and `Rewind` interfaces.
"""

import dataclasses
import inspect

import pytest

import hf_lth

EXEMPT_CLASSES = {"Control", "Rewind"}
PUBLIC = {name: getattr(hf_lth, name) for name in hf_lth.__all__}
FUNCTIONS = sorted(name for name, obj in PUBLIC.items() if inspect.isfunction(obj))
CLASSES = sorted(name for name, obj in PUBLIC.items() if inspect.isclass(obj))


def _has_help_fields(cls) -> bool:
    return dataclasses.is_dataclass(cls) and any("help" in f.metadata for f in dataclasses.fields(cls))


def _needs_args(cls) -> bool:
    return not (cls.__name__ in EXEMPT_CLASSES or issubclass(cls, Exception) or _has_help_fields(cls))


def _parameters(obj) -> list[str]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in inspect.signature(obj).parameters.values() if p.name != "self" and p.kind not in variadic]


def _assert_args_documented(name: str, obj) -> str:
    """Assert that `obj`'s docstring has an Args: section naming each of its parameters; return the docstring."""
    doc = inspect.getdoc(obj) or ""
    lines = [line.strip() for line in doc.splitlines()]
    assert "Args:" in lines, f"{name} has no Args: section"
    missing = [n for n in _parameters(obj) if not any(line.startswith((f"{n}:", f"{n} (")) for line in lines)]
    assert not missing, f"{name} does not document {missing}"
    return doc


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_docstring_documents_parameters_and_return(name):
    function = PUBLIC[name]
    doc = _assert_args_documented(name, function)
    if inspect.signature(function).return_annotation not in (None, "None"):
        assert "Returns:" in doc.splitlines(), f"{name} has no Returns: section"


@pytest.mark.parametrize("name", [name for name in CLASSES if _needs_args(PUBLIC[name])])
def test_class_docstring_documents_init_parameters(name):
    _assert_args_documented(name, PUBLIC[name])


def test_the_exemptions_are_the_expected_classes():
    exempt = {name for name in CLASSES if not _needs_args(PUBLIC[name])}
    assert exempt == {"Control", "Rewind", "LTHError", "LTHInputError", "LTHHubError",
                      "DataArguments", "LTHArguments", "ModelArguments"}
