"""Recurrent text classifier (vanilla tanh RNN, LSTM or GRU) as a Hugging Face `PreTrainedModel`.

This file imports nothing of `hf_lth` (only torch, transformers and its own configuration), so that a saved
model folder also loads with `trust_remote_code=True` where `hf_lth` is not installed.
"""

import contextlib
import functools

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_text_rnn import TextRNNConfig

@functools.lru_cache(maxsize=1)
def cpu_computes_bf16() -> bool:
    """True where this CPU has bf16 instructions (AMX or AVX512-BF16), the ones oneDNN's bf16 LSTM needs. (A copy of
    `hf_lth.settings.precision.cpu_bf16_instructions`'s probe: this file imports nothing of hf_lth.)"""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def recurrent_precision(rnn: nn.Module, device: torch.device) -> contextlib.AbstractContextManager:
    """Where the recurrent layer runs: as the caller's autocast says, except an LSTM under CPU bf16 autocast on a
    CPU without bf16 instructions, which runs in fp32 (oneDNN has no bf16 LSTM there and fails to build one)."""
    cpu_bf16 = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    if device.type == "cpu" and cpu_bf16 and isinstance(rnn, nn.LSTM) and not cpu_computes_bf16():
        return torch.autocast("cpu", enabled=False)
    return contextlib.nullcontext()


def gather_positions(sequence: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`sequence[b, index[b, t]]` for every (b, t): (batch, seq_len, features)."""
    return sequence.gather(1, index[..., None].expand(-1, -1, sequence.shape[-1]))


class RealTokensRecurrence:
    """A torch recurrent layer (batch_first) whose forward reads each text's first `lengths` tokens only.

    Each layer and direction is one call on the padded batch, the backward direction on each text reversed within
    its own length, so that padding never enters a state: the outputs and final states of torch's packed sequence,
    but a padded batch takes oneDNN's fused LSTM on the CPU (an LSTM training step 5.8x faster,
    docs/performance.md) and has static shapes on XLA. Weights, their names and the module's hooks are torch's own
    (`torch.nn.utils.prune` works as on `nn.LSTM`).
    """

    def recurrence(self, *args):  # torch's functional recurrence of the cell, as its module's forward calls it
        raise NotImplementedError

    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns `outputs` (batch, seq_len, directions * hidden_size), the last layer's outputs, zero at padding
        positions, and `final` (batch, directions * hidden_size), its hidden state after each text's last real
        token (forward direction) and after its first (backward)."""
        with recurrent_precision(self, embedded.device):
            return self._recur(embedded, lengths)

    def _recur(self, embedded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, seq_len, _ = embedded.shape
        positions = torch.arange(seq_len, device=embedded.device)
        lengths = lengths.to(embedded.device)
        real = positions < lengths[:, None]
        # Reversal within each length: position t <-> length - 1 - t for real tokens; padding stays; its own inverse.
        reverse = torch.where(real, lengths[:, None] - 1 - positions, positions)
        last = (lengths - 1)[:, None, None].expand(batch, 1, self.hidden_size)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else ("weight_ih", "weight_hh")
        layer_input = embedded
        for layer in range(self.num_layers):
            outputs, finals = [], []
            for direction in range(2 if self.bidirectional else 1):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weights = [getattr(self, name + suffix) for name in names]
                steps = layer_input if direction == 0 else gather_positions(layer_input, reverse)
                zeros = steps.new_zeros(1, batch, self.hidden_size)
                hx = (zeros, zeros) if isinstance(self, nn.LSTM) else zeros
                output = self.recurrence(steps, hx, weights, self.bias, 1, 0.0, self.training, False, True)[0]
                finals.append(output.gather(1, last).squeeze(1))
                outputs.append(output if direction == 0 else gather_positions(output, reverse))
            layer_input = torch.cat(outputs, dim=-1)
            if layer < self.num_layers - 1 and self.dropout > 0:  # as nn.RNNBase: on every layer's outputs but the last
                layer_input = nn.functional.dropout(layer_input, self.dropout, self.training)
        return layer_input.masked_fill(~real[..., None], 0.0), torch.cat(finals, dim=-1)


class RealTokensRNN(RealTokensRecurrence, nn.RNN):
    """`nn.RNN` reading the real tokens only (see `RealTokensRecurrence`)."""

    def recurrence(self, *args):
        return (torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu)(*args)


class RealTokensLSTM(RealTokensRecurrence, nn.LSTM):
    """`nn.LSTM` reading the real tokens only (see `RealTokensRecurrence`)."""

    def recurrence(self, *args):
        return torch.lstm(*args)


class RealTokensGRU(RealTokensRecurrence, nn.GRU):
    """`nn.GRU` reading the real tokens only (see `RealTokensRecurrence`)."""

    def recurrence(self, *args):
        return torch.gru(*args)


RNN_CLASSES = {"rnn": RealTokensRNN, "lstm": RealTokensLSTM, "gru": RealTokensGRU}


def gate_blocks(rnn: nn.RNNBase) -> int:
    """Gate blocks stacked in each of `rnn`'s weight matrices: 4 for an LSTM, 3 for a GRU, 1 for a vanilla RNN."""
    return 4 if isinstance(rnn, nn.LSTM) else 3 if isinstance(rnn, nn.GRU) else 1


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
            gates = gate_blocks(module)
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
    """Embedding -> RNN/LSTM/GRU over the real tokens -> pooled features -> dropout -> linear.

    The recurrent layer reads only the real tokens (lengths from `attention_mask`, see `RealTokensRecurrence`), so
    a text gets the same logits alone and right-padded in a batch. With `pooling="last"` the features are the last
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
        outputs, final = self.rnn(embedded, lengths)
        pooling = self.config.pooling
        if pooling == "last":
            features = final
        elif pooling == "max":  # padding positions never win
            real = torch.arange(seq_len, device=outputs.device) < lengths.to(outputs.device)[:, None]
            features = outputs.masked_fill(~real[..., None], float("-inf")).amax(dim=1)
        else:  # mean over the real tokens; padding positions are zero
            features = outputs.sum(dim=1) / lengths.to(outputs.device, outputs.dtype).unsqueeze(-1)
        logits = self.classifier(self.dropout(features))

        loss = None
        if labels is not None:  # transformers' ForSequenceClassificationLoss: MSE, cross-entropy or BCE
            loss = self.loss_function(labels=labels, pooled_logits=logits, config=self.config)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits)


__all__ = ["TextRNNPreTrainedModel", "TextRNNForSequenceClassification"]
