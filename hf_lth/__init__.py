"""hf_lth: Lottery Ticket Hypothesis experiments for text classification inside the Hugging Face ecosystem.

The names below are imported on first use (PEP 562), so that light modules such as `hf_lth.report.cli` (the
`hf-lth-report` command) start without torch or transformers. `import hf_lth` registers the TextCNN and TextRNN
models with the transformers Auto classes as soon as transformers loads them (`hf_lth.loading.auto_registration`), so
that `AutoModelForSequenceClassification.from_pretrained(ticket_folder)` needs no `trust_remote_code`; taking a
name from the package, or importing `hf_lth.models`, registers them at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .loading import auto_registration

__version__ = "0.1.0"

auto_registration.install()

# Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    "CONTROLS": "controls",
    "Control": "controls",
    "DataArguments": "data.loading",
    "ExperimentFolder": "storage.folder",
    "LTHArgumentParser": "settings.parser",
    "LTHArguments": "settings.arguments",
    "LTHError": "errors",
    "LTHHubError": "errors",
    "LTHInputError": "errors",
    "LTHTrainer": "engine.trainer",
    "LineMethod": "methods",
    "METHODS": "methods",
    "MODEL_PRESETS": "loading.models",
    "PRETRAINED_PRESETS": "loading.pretrained",
    "ModelArguments": "loading.models",
    "PRUNING_STRATEGIES": "pruning.strategies",
    "SplitPredictions": "storage.predictions",
    "Study": "study",
    "load_predictions": "storage.predictions",
    "load_study": "study",
    "REWINDS": "rewinding",
    "Rewind": "rewinding",
    "TextCNNConfig": "models",
    "TextCNNForSequenceClassification": "models",
    "TextClassificationData": "data.loading",
    "TextRNNConfig": "models",
    "TextRNNForSequenceClassification": "models",
    "TicketMask": "pruning.masks",
    "build_data_collator": "data.loading",
    "compute_metrics": "engine.metrics",
    "fit_mask_to_model": "hub.tickets",
    "load_model": "loading.models",
    "load_text_classification_data": "data.loading",
    "load_ticket_mask": "hub.tickets",
    "load_tokenizer": "loading.models",
    "parse_rewind": "rewinding",
    "plot_accuracy_vs_sparsity": "report.plots",
    "pretrained_preset_path": "loading.pretrained",
    "prune": "pruning.strategies",
    "push_ticket": "hub.tickets",
    "random_mask_like": "pruning.strategies",
    "resolve_prune_scope": "pruning.scope",
    "round_table": "report.text",
    "stage_ticket": "hub.tickets",
    "ticket_card": "hub.card",
    "write_report": "report.cli",
    "tokenize_dataset": "data.loading",
    "train_word_tokenizer": "data.tokenization",
    "train_wordpiece_tokenizer": "data.tokenization",
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
    from .controls import CONTROLS, Control
    from .data.loading import (
        DataArguments,
        TextClassificationData,
        build_data_collator,
        load_text_classification_data,
        tokenize_dataset,
    )
    from .data.tokenization import train_word_tokenizer, train_wordpiece_tokenizer
    from .engine.metrics import compute_metrics
    from .engine.trainer import LTHTrainer
    from .errors import LTHError, LTHHubError, LTHInputError
    from .hub.card import ticket_card
    from .hub.tickets import fit_mask_to_model, load_ticket_mask, push_ticket, stage_ticket
    from .loading.models import MODEL_PRESETS, ModelArguments, load_model, load_tokenizer
    from .loading.pretrained import PRETRAINED_PRESETS, pretrained_preset_path
    from .methods import METHODS, LineMethod
    from .models import (
        TextCNNConfig,
        TextCNNForSequenceClassification,
        TextRNNConfig,
        TextRNNForSequenceClassification,
    )
    from .pruning.masks import TicketMask
    from .pruning.scope import resolve_prune_scope
    from .pruning.strategies import PRUNING_STRATEGIES, prune, random_mask_like
    from .report.cli import write_report
    from .report.plots import plot_accuracy_vs_sparsity
    from .report.text import round_table
    from .rewinding import REWINDS, Rewind, parse_rewind
    from .settings.arguments import LTHArguments
    from .settings.parser import LTHArgumentParser
    from .storage.folder import ExperimentFolder
    from .storage.predictions import SplitPredictions, load_predictions
    from .study import Study, load_study
