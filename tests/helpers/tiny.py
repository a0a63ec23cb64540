"""A tiny BERT, a separable token data set and an `LTHTrainer` factory, shared by the engine's tests."""

from __future__ import annotations

import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, TrainerCallback

from hf_lth.engine.metrics import compute_metrics
from hf_lth.engine.trainer import LTHTrainer
from hf_lth.settings.arguments import LTHArguments


def tiny_bert(seed: int = 0, **config_kwargs) -> BertForSequenceClassification:
    """A 2-layer, 16-wide BERT with 2 labels, initialised from `torch.manual_seed(seed)`; `config_kwargs` change
    its `BertConfig`."""
    torch.manual_seed(seed)
    config = dict(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                  max_position_embeddings=32, num_labels=2)
    return BertForSequenceClassification(BertConfig(**{**config, **config_kwargs}))


def separable_tokens(rows: int = 96) -> Dataset:
    """Label 1 texts use tokens 34..63, label 0 texts 4..33: a tiny BERT learns it in a few steps."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (rows,), generator=g)
    ids = torch.randint(4, 34, (rows, 10), generator=g) + 30 * labels[:, None]
    return Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": [[1] * 10] * rows, "labels": labels.tolist()})


def make_trainer(tmp_path, dataset, name="run", callbacks=None, model=None, **overrides) -> LTHTrainer:
    """Two pruning rounds of 2 epochs (6 optimizer steps each: 96 rows, batch 16, accumulation 2)."""
    settings = dict(output_dir=str(tmp_path / name), lth_rounds=2, num_train_epochs=2, per_device_train_batch_size=16,
                    gradient_accumulation_steps=2, weight_decay=0.1, disable_tqdm=True, logging_steps=1, seed=7,
                    learning_rate=1e-2, dataloader_pin_memory=False)
    settings.update(overrides)
    return LTHTrainer(model=model or tiny_bert(), args=LTHArguments(**settings), train_dataset=dataset,
                      eval_dataset=dataset, test_dataset=dataset, compute_metrics=compute_metrics, callbacks=callbacks)


class RoundStartRecorder(TrainerCallback):
    """Keeps a copy of the weights at the start of every train() call, and the learning rate of every step."""

    def __init__(self):
        self.starts, self.first_lr, self.lrs = [], [], []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.starts.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        self.lrs.append([])

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        lr = optimizer.param_groups[0]["lr"]
        if not self.lrs[-1]:
            self.first_lr.append(lr)
        self.lrs[-1].append(lr)
