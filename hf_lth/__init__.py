"""hf_lth: Lottery Ticket Hypothesis experiments for text classification inside the Hugging Face ecosystem.

The names below are imported on first use (PEP 562), so that light modules such as `hf_lth.report` (the
`hf-lth-report` command) start without torch or transformers. `import hf_lth` registers the TextCNN and TextRNN
models with the transformers Auto classes as soon as transformers loads them (`hf_lth.auto_registration`), so
that `AutoModelForSequenceClassification.from_pretrained(ticket_folder)` needs no `trust_remote_code`; taking a
name from the package, or importing `hf_lth.models`, registers them at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import auto_registration

__version__ = "0.1.0"

auto_registration.install()

# Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    "CONTROLS": "controls",
    "Control": "controls",
    "DataArguments": "data",
    "ExperimentFolder": "experiment",
    "LTHArgumentParser": "cli",
    "LTHArguments": "arguments",
    "LTHError": "errors",
    "LTHHubError": "errors",
    "LTHInputError": "errors",
    "LTHTrainer": "trainer",
    "LineMethod": "methods",
    "METHODS": "methods",
    "MODEL_PRESETS": "model_loading",
    "PRETRAINED_PRESETS": "pretrained",
    "ModelArguments": "model_loading",
    "PRUNING_STRATEGIES": "pruning",
    "SplitPredictions": "predictions",
    "Study": "study",
    "load_predictions": "predictions",
    "load_study": "study",
    "REWINDS": "rewinding",
    "Rewind": "rewinding",
    "TextCNNConfig": "models",
    "TextCNNForSequenceClassification": "models",
    "TextClassificationData": "data",
    "TextRNNConfig": "models",
    "TextRNNForSequenceClassification": "models",
    "TicketMask": "masks",
    "build_data_collator": "data",
    "compute_metrics": "metrics",
    "fit_mask_to_model": "hub",
    "load_model": "model_loading",
    "load_text_classification_data": "data",
    "load_ticket_mask": "hub",
    "load_tokenizer": "model_loading",
    "parse_rewind": "rewinding",
    "plot_accuracy_vs_sparsity": "report",
    "pretrained_preset_path": "pretrained",
    "prune": "pruning",
    "push_ticket": "hub",
    "random_mask_like": "pruning",
    "resolve_prune_scope": "scope",
    "round_table": "report",
    "stage_ticket": "hub",
    "ticket_card": "card",
    "write_report": "report",
    "tokenize_dataset": "data",
    "train_word_tokenizer": "tokenization",
    "train_wordpiece_tokenizer": "tokenization",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(".models", __name__)  # registers the models with the Auto classes
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from .arguments import LTHArguments
    from .card import ticket_card
    from .cli import LTHArgumentParser
    from .controls import CONTROLS, Control
    from .data import (
        DataArguments,
        TextClassificationData,
        build_data_collator,
        load_text_classification_data,
        tokenize_dataset,
    )
    from .errors import LTHError, LTHHubError, LTHInputError
    from .experiment import ExperimentFolder
    from .predictions import SplitPredictions, load_predictions
    from .study import Study, load_study
    from .hub import fit_mask_to_model, load_ticket_mask, push_ticket, stage_ticket
    from .masks import TicketMask
    from .pretrained import PRETRAINED_PRESETS, pretrained_preset_path
    from .methods import METHODS, LineMethod
    from .metrics import compute_metrics
    from .model_loading import MODEL_PRESETS, ModelArguments, load_model, load_tokenizer
    from .models import (
        TextCNNConfig,
        TextCNNForSequenceClassification,
        TextRNNConfig,
        TextRNNForSequenceClassification,
    )
    from .pruning import PRUNING_STRATEGIES, prune, random_mask_like
    from .report import plot_accuracy_vs_sparsity, round_table, write_report
    from .rewinding import REWINDS, Rewind, parse_rewind
    from .scope import resolve_prune_scope
    from .tokenization import train_word_tokenizer, train_wordpiece_tokenizer
    from .trainer import LTHTrainer
