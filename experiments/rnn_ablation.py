#!/usr/bin/env python
"""What makes the vanilla RNN learn on IMDb: the `rnn` preset with one ingredient taken away at a time.

    python experiments/rnn_ablation.py unpacked experiments/imdb_rnn.json \
        --config_overrides hidden_size=128,bidirectional=False --output_dir runs/imdb_rnn_unidir_unpacked_seed42
    python experiments/rnn_ablation.py torch_init experiments/imdb_rnn.json --output_dir runs/imdb_rnn_torchinit_seed42

Variants (everything else as in the JSON file and its flags; dense round only, through `LTHTrainer`):
- `unpacked`: the recurrent layer reads the right-padded batch to its end, padding included, and the classifier
  reads the state after the last padding position (as the research seed's model did);
- `torch_init`: PyTorch's default RNN initialisation, U(-1/sqrt(h), 1/sqrt(h)), instead of Xavier-normal input
  and orthogonal recurrent weights.
The other ingredients are flags of the preset: `--config_overrides bidirectional=False`, `--max_grad_norm 0`
(no gradient clipping), `--config_overrides pooling=max`.
"""

from __future__ import annotations

import sys

import torch
from transformers import set_seed
from transformers.loss.loss_utils import ForSequenceClassificationLoss
from transformers.modeling_outputs import SequenceClassifierOutput

import hf_lth.run as run_lth  # the entry point; `run` looks `load_model` up in this module, patched below
from hf_lth.models import TextRNNForSequenceClassification


class UnpackedTextRNN(TextRNNForSequenceClassification):
    """The preset's model, but reading the padded batch to its end (every position counts as a real token)."""

    _auto_class = None  # a local experiment: do not copy this file into saved folders as remote code

    def forward(self, input_ids, attention_mask=None, labels=None, return_dict=None):
        every_position = torch.full((input_ids.shape[0],), input_ids.shape[1], device=input_ids.device)
        _, final = self.rnn(self.embedding(input_ids), every_position)
        logits = self.classifier(self.dropout(final))
        # Called by name: `self.loss_function` goes by the class name, and this one (kept: it is in the experiment's
        # identity) does not end in ForSequenceClassification.
        loss = ForSequenceClassificationLoss(labels, logits, self.config) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def main(variant: str, argv: list[str]) -> None:
    model_args, data_args, lth_args = run_lth.parse_args(argv + ["--lth_rounds", "0", "--lth_controls", ""])
    load_model = run_lth.load_model

    def variant_model(*args, **kwargs):
        model = load_model(*args, **kwargs)
        if model.config.cell != "rnn":
            raise SystemExit(f"error: the ablation is for the vanilla RNN, got cell={model.config.cell}")
        if variant == "unpacked":
            set_seed(lth_args.seed)
            model = UnpackedTextRNN(model.config)
        elif variant == "torch_init":
            model.rnn.reset_parameters()
        return model

    run_lth.load_model = variant_model
    run_lth.run(model_args, data_args, lth_args)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("unpacked", "torch_init"):
        raise SystemExit("usage: rnn_ablation.py unpacked|torch_init EXPERIMENT.json [flags]")
    main(sys.argv[1], sys.argv[2:])
