"""Kim-style text CNN for sequence classification (Kim, 2014), as a Hugging Face `PreTrainedModel`.

This file imports nothing of `hf_lth` (only torch, transformers and its own configuration), so that a saved
model folder also loads with `trust_remote_code=True` where `hf_lth` is not installed.
"""

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_text_cnn import TextCNNConfig


class TextCNNPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading glue shared by the text CNN models.

    Initialisation (drawn from torch's global RNG, so `torch.manual_seed` fixes it): embedding, convolution and
    linear weights Xavier-normal, with the embedding's padding row zero; all biases zero.
    """

    config_class = TextCNNConfig
    base_model_prefix = "text_cnn"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # `transformers.initialization` functions skip tensors already loaded by `from_pretrained`.
        if isinstance(module, nn.Embedding):
            # Xavier-normal like every other weight, so that one global magnitude threshold treats the
            # embedding and the layers above it alike (with N(0, 1) it would prune the filters first).
            init.xavier_normal_(module.weight)
            # A slice loses the "already loaded" flag, so check it on the whole matrix.
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, (nn.Conv1d, nn.Linear)):
            init.xavier_normal_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)


class TextCNNForSequenceClassification(TextCNNPreTrainedModel):
    """Embedding -> one Conv1d + ReLU per filter width -> max over time -> concat -> dropout -> linear.

    Padding does not leak: only windows that start inside the text enter the max, embeddings of masked tokens are
    zero, and a text shorter than a filter keeps exactly one window. A text therefore gets the same logits alone
    and right-padded in a batch. Padding must be on the right. Shapes stay static (no data-dependent indexing).

    Args:
        config: the model's hyper-parameters and labels; the weights are initialised at random (load trained ones
            with `from_pretrained`).
    """

    def __init__(self, config: TextCNNConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.embedding_dim, config.num_filters, kernel_size=k) for k in config.filter_sizes
        )
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.num_filters * len(config.filter_sizes), config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embedding

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embedding = value

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """Classify right-padded token ids; `labels` (optional) gives the loss."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        widest = max(self.config.filter_sizes)
        if input_ids.shape[1] < widest:  # static: depends on the shape, not the values
            extra = widest - input_ids.shape[1]
            pad_id = self.config.pad_token_id if self.config.pad_token_id is not None else 0
            input_ids = nn.functional.pad(input_ids, (0, extra), value=pad_id)
            attention_mask = nn.functional.pad(attention_mask, (0, extra), value=0)

        embedded = self.embedding(input_ids) * attention_mask.unsqueeze(-1).to(self.embedding.weight.dtype)
        embedded = embedded.transpose(1, 2)  # (batch, embedding_dim, seq_len)
        lengths = attention_mask.sum(-1)  # (batch,)

        pooled = []
        for conv, k in zip(self.convs, self.config.filter_sizes, strict=True):
            features = nn.functional.relu(conv(embedded))  # (batch, num_filters, seq_len - k + 1)
            positions = torch.arange(features.shape[-1], device=features.device)
            valid = positions.unsqueeze(0) < (lengths - k + 1).clamp(min=1).unsqueeze(1)
            features = features.masked_fill(~valid.unsqueeze(1), torch.finfo(features.dtype).min)
            pooled.append(features.amax(dim=-1))
        logits = self.classifier(self.dropout(torch.cat(pooled, dim=-1)))

        loss = None
        if labels is not None:  # transformers' ForSequenceClassificationLoss: MSE, cross-entropy or BCE
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits)


__all__ = ["TextCNNPreTrainedModel", "TextCNNForSequenceClassification"]
