"""An inference-only forward for the TextCNN (dense or a shrunk channel ticket): the same logits up to float rounding,
faster on a CPU. The training forward (`hf_lth/models/modeling_text_cnn.py`) is left as it is: runs and their
records depend on its numerics.

What the profile of the training forward showed (`docs/performance.md`, inference section) and what this path does:

- Its `Conv1d` on a `(batch, embedding_dim, tokens)` tensor makes oneDNN reorder the input into a blocked layout
  and the output back, for every filter width: three copies of the input and three of the output per call, which
  do not shrink with the filters. Here the embedding output `(batch, tokens, embedding_dim)` is read, without a
  copy, as a channels-last image `(batch, embedding_dim, 1, tokens)`, and oneDNN's brgemm convolution runs on it
  directly (nothing reordered but the small weight).
- One convolution per filter width, or one for all widths (`fuse_widths=True`): the narrower kernels padded with
  zero taps on the right to the widest, and the input with (widest - narrowest) zero tokens, so that every width
  keeps all its windows. Zero taps cost multiply-adds (3 of 15 for widths 3/4/5), but oneDNN rounds a
  convolution's output channels up to a block (16 or more), which a few filters per width fill badly: measured
  (one thread, batch 64 x 256 tokens, embedding 100), one convolution per width was faster with 100, 75 and 50
  filters per width, the fused one with 25. The default (`fuse_widths=None`) fuses below `FUSE_BELOW` filters.
- Max over time before the bias and the ReLU: both are monotonic, so `relu(max_t(x) + b) == max_t(relu(x + b))`
  exactly, and the element-wise work runs on `(batch, filters)` instead of `(batch, filters, tokens)`.
- Padding is masked only when a batch has some (the check reads the attention mask: a host sync, harmless on CPU);
  a batch without padding takes each width's windows by slicing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from ..errors import LTHInputError

FUSE_BELOW = 32  # filters per width under which one convolution for all widths is the faster (see above)


class TextCNNForInference(nn.Module):
    """The TextCNN's eval-mode forward (embedding, convolutions, max over time, classifier), restructured for speed.

    Build it with `fuse_for_inference`. It holds its own copies of the weights (in `dtype`), so later changes to the
    source model do not reach it; it has no loss, no dropout and no training mode.
    """

    def __init__(self, model: nn.Module, dtype: torch.dtype | None = None, fuse_widths: bool | None = None):
        super().__init__()
        if fuse_widths is None:
            fuse_widths = model.config.num_filters < FUSE_BELOW
        dtype = dtype or model.embedding.weight.dtype
        self.config = model.config
        self.widths = [int(k) for k in model.config.filter_sizes]
        self.pad_token_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
        self.fuse_widths = fuse_widths
        weights = [conv.weight.detach().to(dtype) for conv in model.convs]  # (filters, embedding_dim, k) each
        biases = [conv.bias.detach().to(dtype) for conv in model.convs]
        widest = max(self.widths)
        if fuse_widths:
            fused = torch.cat([F.pad(w, (0, widest - w.shape[-1])) for w in weights])
            self.conv_weights = nn.ParameterList([_channels_last(fused)])
        else:
            self.conv_weights = nn.ParameterList([_channels_last(w) for w in weights])
        self.bias = nn.Parameter(torch.cat(biases), requires_grad=False)
        self.filters = [w.shape[0] for w in weights]
        self.embedding = nn.Embedding.from_pretrained(model.embedding.weight.detach().to(dtype), freeze=True,
                                                      padding_idx=model.embedding.padding_idx)
        self.classifier = nn.Linear(model.classifier.in_features, model.classifier.out_features,
                                    device=model.classifier.weight.device, dtype=dtype)
        self.classifier.load_state_dict({k: v.detach().to(dtype) for k, v in model.classifier.state_dict().items()})
        self.requires_grad_(False)
        self.eval()

    @property
    def dtype(self) -> torch.dtype:
        return self.embedding.weight.dtype

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **_: object) -> SequenceClassifierOutput:
        """Logits (float32 whatever the compute dtype) of right-padded token ids."""
        widest, narrowest = max(self.widths), min(self.widths)
        if input_ids.shape[1] < widest:  # as the training forward: a text shorter than a filter keeps one window
            extra = widest - input_ids.shape[1]
            input_ids = F.pad(input_ids, (0, extra), value=self.pad_token_id)
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids[:, :-extra])
            attention_mask = F.pad(attention_mask, (0, extra), value=0)
        padded = attention_mask is not None and not bool(attention_mask.all())
        embedded = self.embedding(input_ids)  # (batch, tokens, embedding_dim)
        if padded:
            embedded = embedded * attention_mask.unsqueeze(-1).to(embedded.dtype)
        tokens = embedded.shape[1]
        if self.fuse_widths and widest > narrowest:  # zero tokens on the right: the narrower widths keep every window
            embedded = F.pad(embedded, (0, 0, 0, widest - narrowest))
        image = embedded.unsqueeze(1).permute(0, 3, 1, 2)  # (batch, embedding_dim, 1, tokens): channels-last, no copy
        if self.fuse_widths:
            out = F.conv2d(image, self.conv_weights[0]).squeeze(2)  # (batch, all filters, windows)
            features = out.split(self.filters, dim=1)
        else:
            features = [F.conv2d(image, w).squeeze(2) for w in self.conv_weights]
        lengths = attention_mask.sum(-1) if padded else None
        pooled = []
        for feature, k in zip(features, self.widths, strict=True):
            windows = tokens - k + 1
            feature = feature[..., :windows]
            if lengths is not None:
                positions = torch.arange(windows, device=feature.device)
                valid = positions.unsqueeze(0) < (lengths - k + 1).clamp(min=1).unsqueeze(1)
                feature = feature.masked_fill(~valid.unsqueeze(1), float("-inf"))
            pooled.append(feature.amax(dim=-1))
        logits = self.classifier(torch.relu(torch.cat(pooled, dim=-1) + self.bias))
        return SequenceClassifierOutput(logits=logits.float())


def _channels_last(weight: torch.Tensor) -> nn.Parameter:
    """A Conv1d weight `(out, in, k)` as a channels-last Conv2d weight `(out, in, 1, k)`."""
    return nn.Parameter(weight.unsqueeze(2).contiguous(memory_format=torch.channels_last), requires_grad=False)


def fuse_for_inference(model: nn.Module, dtype: torch.dtype | None = None,
                       fuse_widths: bool | None = None) -> nn.Module:
    """The TextCNN `model` (dense, masked or shrunk by `shrink_model`) as a `TextCNNForInference`: same logits up to
    float rounding, for inference only.

    Args:
        model: a `TextCNNForSequenceClassification`.
        dtype: the compute dtype (default: the model's); `torch.bfloat16` runs the convolutions in bf16 (logits are
            returned as float32).
        fuse_widths: one convolution for all filter widths (zero-padded kernels) instead of one per width; None
            (default): fused below `FUSE_BELOW` filters per width.

    Raises `LTHInputError` for any other model: only the TextCNN has an inference path.
    """
    from ..models.modeling_text_cnn import TextCNNForSequenceClassification

    if not isinstance(model, TextCNNForSequenceClassification):
        raise LTHInputError("fuse_for_inference knows TextCNNForSequenceClassification only, got "
                            f"{type(model).__name__}")
    if dtype is not None and not dtype.is_floating_point:
        raise LTHInputError(f"fuse_for_inference: dtype must be a floating-point dtype, got {dtype}")
    return TextCNNForInference(model, dtype=dtype, fuse_widths=fuse_widths)
