"""Register TextCNN and TextRNN with transformers' Auto classes without importing transformers on `import hf_lth`.

`import hf_lth` must stay light (`hf-lth-report` starts in a fraction of a second, without torch or transformers),
yet after it `AutoModelForSequenceClassification.from_pretrained(round_folder)` must find hf_lth's classes rather
than ask for `trust_remote_code=True`. So `import hf_lth` only installs an import hook: once transformers has
loaded its Auto mappings (`configuration_auto`, `modeling_auto`), and no transformers module is still being
imported (transformers loads `configuration_auto` from inside `modeling_utils`, which hf_lth's modeling files
need whole), the hook imports `hf_lth.models`, which registers the models, and removes itself. Where
transformers' Auto classes are loaded already, `install()` registers at once.
"""

from __future__ import annotations

import importlib
import importlib.abc
import logging
import sys
import threading

logger = logging.getLogger(__name__)

# transformers' modules whose loading means that someone may look a model type up next
TRIGGERS = frozenset({"transformers.models.auto.configuration_auto", "transformers.models.auto.modeling_auto"})
_lock = threading.RLock()
_state = {"pending": False, "busy": False, "done": False}


def install() -> None:
    """Register the models now if transformers' Auto classes are loaded, else when they are (idempotent)."""
    with _lock:
        if _state["done"]:
            return
        if any(name in sys.modules for name in TRIGGERS):
            _state["pending"] = True
            _register_if_settled()
        if not _state["done"] and _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)


def registered() -> bool:
    """Whether the models are registered with the Auto classes (by this hook or by importing `hf_lth.models`)."""
    return _state["done"] or "hf_lth.models" in sys.modules


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of every transformers module imported from now on, so that `_loaded`
    runs once the module has executed (the trigger modules, and the outermost module of an import, whose end is
    when registering becomes safe)."""

    def find_spec(self, fullname, path, target=None):
        if _state["busy"] or _state["done"] or "hf_lth.models" in sys.modules:
            return None
        if fullname != "transformers" and not fullname.startswith("transformers."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, fullname)
        return spec


class _Loader(importlib.abc.Loader):
    """Delegates to the module's own loader, then calls `_loaded`."""

    def __init__(self, loader, name: str):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _loaded(self._name)

    def __getattr__(self, name):  # get_source, is_package, get_resource_reader, ...
        return getattr(self._loader, name)


def _loaded(name: str) -> None:
    with _lock:
        if name in TRIGGERS:
            _state["pending"] = True
        if _state["pending"] and not _state["done"]:
            _register_if_settled(finished=name)


def _register_if_settled(finished: str | None = None) -> None:
    """Import `hf_lth.models` (which registers the models) unless a transformers module is still being imported."""
    if _importing_transformers(besides=finished):
        return
    _state["busy"] = True
    try:
        importlib.import_module("hf_lth.models")
    except Exception as err:  # never break the user's import; they can still pass trust_remote_code=True
        logger.warning("hf_lth could not register TextCNN/TextRNN with the Auto classes (%s); import hf_lth.models "
                       "yourself, or pass trust_remote_code=True.", err)
    finally:
        _state["busy"] = False
    _state["done"], _state["pending"] = True, False
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def _importing_transformers(besides: str | None) -> bool:
    for name, module in list(sys.modules.items()):
        if name != besides and (name == "transformers" or name.startswith("transformers.")):
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                return True
    return False


_FINDER = _AfterImport()
