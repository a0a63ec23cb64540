"""Recurrent text classifier (vanilla tanh RNN, LSTM or GRU) as a Hugging Face `PreTrainedModel`.

This file imports nothing of `hf_lth` (only torch, transformers and its own configuration), so that a saved
model folder also loads with `trust_remote_code=True` where `hf_lth` is not installed.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_text_rnn import TextRNNConfig

RNN_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES = {nn.RNN: 1, nn.LSTM: 4, nn.GRU: 3}  # gate blocks stacked in each weight_hh


class TextRNNPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading glue shared by the recurrent text models.

    Initialisation (drawn from torch's global RNG, so `torch.manual_seed` fixes it): embedding, input-to-hidden and
    linear weights Xavier-normal, with the embedding's padding row zero; each gate block of a hidden-to-hidden weight
    orthogonal; biases zero, except the LSTM forget gate of `bias_ih_*`, set to 1.
    """

    config_class = TextRNNConfig
    base_model_prefix = "text_rnn"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # `transformers.initialization` functions skip tensors already loaded by `from_pretrained`; slices lose
        # that flag, so parameters initialised slice by slice check it on the whole tensor first.
        if isinstance(module, nn.Embedding):
            # Xavier-normal like every other weight, so that one global magnitude threshold treats the
            # embedding and the layers above it alike (with N(0, 1) it would prune the filters first).
            init.xavier_normal_(module.weight)
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.Linear):
            init.xavier_normal_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
            gates = GATES[type(module)]
            for name, param in module.named_parameters(recurse=False):
                if getattr(param, "_is_hf_initialized", False):
                    continue
                if name.startswith("weight_ih"):
                    for block in param.chunk(gates, dim=0):
                        init.xavier_normal_(block)
                elif name.startswith("weight_hh"):
                    for block in param.chunk(gates, dim=0):
                        init.orthogonal_(block)
                elif name.startswith("bias"):
                    init.zeros_(param)
                    if isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                        init.ones_(param.chunk(4, dim=0)[1])  # gates are ordered input, forget, cell, output


class TextRNNForSequenceClassification(TextRNNPreTrainedModel):
    """Embedding -> RNN/LSTM/GRU over the packed sequence -> pooled features -> dropout -> linear.

    The recurrent layer reads only the real tokens (`pack_padded_sequence` with lengths from `attention_mask`), so a
    text gets the same logits alone and right-padded in a batch. With `pooling="last"` the features are the last
    layer's final hidden states (forward and backward concatenated); with `"max"` or `"mean"`, its outputs pooled
    over the real tokens.

    Args:
        config: the model's hyper-parameters and labels; the weights are initialised at random (load trained ones
            with `from_pretrained`).
    """

    def __init__(self, config: TextRNNConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        rnn_kwargs = {"nonlinearity": "tanh"} if config.cell == "rnn" else {}
        self.rnn = RNN_CLASSES[config.cell](
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
            **rnn_kwargs,
        )
        self.dropout = nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.classifier = nn.Linear(config.hidden_size * directions, config.num_labels)
        self.post_init()

    def final_states(self, hidden: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The last layer's final hidden state of each direction, concatenated: (batch, directions * hidden_size)."""
        if isinstance(hidden, tuple):  # LSTM: (h_n, c_n)
            hidden = hidden[0]
        directions = 2 if self.config.bidirectional else 1
        last_layer = hidden.view(self.config.num_layers, directions, hidden.shape[1], self.config.hidden_size)[-1]
        return torch.cat(list(last_layer.unbind(0)), dim=-1)

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
        batch_size, seq_len = input_ids.shape
        if attention_mask is None:
            lengths = torch.full((batch_size,), seq_len, dtype=torch.long)
        else:
            lengths = attention_mask.sum(-1).clamp(min=1)
        embedded = self.embedding(input_ids)
        # pack_padded_sequence wants lengths on the CPU: the one host sync of this model.
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, hidden = self.rnn(packed)
        pooling = self.config.pooling
        if pooling == "last":
            features = self.final_states(hidden)
        elif pooling == "max":  # padding positions are -inf, so they never win
            padded, _ = pad_packed_sequence(output, batch_first=True, padding_value=float("-inf"), total_length=seq_len)
            features = padded.amax(dim=1)
        else:  # mean over the real tokens; padding positions are zero
            padded, _ = pad_packed_sequence(output, batch_first=True, total_length=seq_len)
            features = padded.sum(dim=1) / lengths.to(padded.device, padded.dtype).unsqueeze(-1)
        logits = self.classifier(self.dropout(features))

        loss = None
        if labels is not None:  # transformers' ForSequenceClassificationLoss: MSE, cross-entropy or BCE
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits)


__all__ = ["TextRNNPreTrainedModel", "TextRNNForSequenceClassification"]
