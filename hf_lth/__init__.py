"""hf_lth: Lottery Ticket Hypothesis experiments for text classification inside the Hugging Face ecosystem.

Importing the package registers the TextCNN and TextRNN models with the transformers Auto classes.
"""

from .arguments import LTHArguments
from .data import DataArguments, TextClassificationData, build_data_collator, load_text_classification_data, tokenize_dataset
from .card import ticket_card
from .controls import CONTROLS, Control
from .errors import LTHError, LTHHubError, LTHInputError
from .experiment import ExperimentFolder
from .hub import fit_mask_to_model, load_ticket_mask, push_ticket, stage_ticket
from .masks import TicketMask
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

__version__ = "0.1.0"

__all__ = [
    "CONTROLS",
    "Control",
    "ExperimentFolder",
    "REWINDS",
    "Rewind",
    "parse_rewind",
    "DataArguments",
    "LTHArguments",
    "LTHError",
    "LTHHubError",
    "LTHInputError",
    "LTHTrainer",
    "MODEL_PRESETS",
    "ModelArguments",
    "PRUNING_STRATEGIES",
    "TextCNNConfig",
    "TextCNNForSequenceClassification",
    "TextClassificationData",
    "TextRNNConfig",
    "TextRNNForSequenceClassification",
    "TicketMask",
    "build_data_collator",
    "compute_metrics",
    "fit_mask_to_model",
    "load_ticket_mask",
    "push_ticket",
    "stage_ticket",
    "ticket_card",
    "load_model",
    "load_text_classification_data",
    "load_tokenizer",
    "plot_accuracy_vs_sparsity",
    "write_report",
    "prune",
    "random_mask_like",
    "resolve_prune_scope",
    "round_table",
    "tokenize_dataset",
    "train_word_tokenizer",
    "train_wordpiece_tokenizer",
]
