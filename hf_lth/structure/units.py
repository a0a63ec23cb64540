"""Units that structured (`channel`) pruning removes whole, found per model family.

A unit is what a smaller dense model would not have: a TextCNN filter, a TextRNN hidden unit of one layer and
direction, a BERT attention head or FFN neuron. Its weights are *produced* by rows of some tensors (the filter's
kernel; the gate rows of a hidden unit; a head's query, key and value rows; a neuron's intermediate row) and
*read* by columns of others (the classifier columns on a filter; the recurrent, next-layer and classifier columns
on a hidden unit; the attention output's columns on a head; the FFN output's column on a neuron). Zeroing both
makes the unit's output irrelevant whatever its biases hold, so the masked model computes what the model without
the unit computes (`hf_lth.structure.shrink` removes it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import torch

from ..errors import LTHInputError

_RNN_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_ATTENTION_QUERY = re.compile(r"^(?P<layer>.*\.layer\.\d+\.)attention\.self\.query\.weight$")


@dataclass(frozen=True)
class Block:
    """Where each unit lies in one tensor: along `dim`, unit u covers indices
    `offset + g * period + u * width + [0, width)` for every gate g < `repeats`."""

    param: str
    dim: int
    width: int = 1
    offset: int = 0
    period: int = 0
    repeats: int = 1

    def indices(self, units: torch.Tensor) -> torch.Tensor:
        """The indices along `dim` of the given units, shape (len(units), repeats * width)."""
        base = self.offset + units[:, None] * self.width + torch.arange(self.width)[None, :]
        gates = (torch.arange(self.repeats) * self.period)[None, :, None]
        return (base[:, None, :] + gates).reshape(len(units), -1)


@dataclass(frozen=True)
class UnitSet:
    """The units of one layer, pruned by the same fraction: e.g. the filters of one convolution.

    `producers` and `readers` are masked; `biases` are the producers' biases (never masked, removed by shrink).
    `kind` names what a smaller configuration changes (`num_filters`, `hidden_size`, `intermediate_size`, or
    `heads`, which no transformers configuration can shrink per layer).
    """

    name: str
    kind: str
    size: int
    producers: tuple[Block, ...]
    readers: tuple[Block, ...]
    biases: tuple[Block, ...] = ()

    @property
    def masked_params(self) -> list[str]:
        return [block.param for block in self.producers + self.readers]


def find_unit_sets(model: torch.nn.Module) -> list[UnitSet]:
    """The unit sets of a TextCNN, a TextRNN or a BERT-family encoder (BERT, RoBERTa, ELECTRA naming)."""
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    params = dict(model.named_parameters())
    if model_type == "text_cnn":
        return _text_cnn_units(config, params)
    if model_type == "text_rnn":
        return _text_rnn_units(config, params)
    if any(_ATTENTION_QUERY.match(name) for name in params):
        return _encoder_units(config, params)
    raise LTHInputError(
        f"lth_granularity channel knows TextCNN filters, TextRNN hidden units and the heads and FFN neurons of "
        f"BERT-family encoders; {type(model).__name__} (model_type {model_type!r}) is none of them. Use "
        "unstructured or N:M granularity."
    )


def _prefixed(params: dict, suffix: str) -> str:
    """The one parameter name ending in `suffix` (models may sit under a prefix)."""
    found = [name for name in params if name == suffix or name.endswith("." + suffix)]
    if len(found) != 1:
        raise LTHInputError(f"expected one parameter named '{suffix}', found {found or 'none'}.")
    return found[0]


def _text_cnn_units(config, params: dict) -> list[UnitSet]:
    filters = config.num_filters
    classifier = _prefixed(params, "classifier.weight")
    return [
        UnitSet(
            name=f"convs.{i} filters",
            kind="num_filters",
            size=filters,
            producers=(Block(_prefixed(params, f"convs.{i}.weight"), 0),),
            readers=(Block(classifier, 1, offset=i * filters),),
            biases=(Block(_prefixed(params, f"convs.{i}.bias"), 0),),
        )
        for i in range(len(config.filter_sizes))
    ]


def _rnn_param(params: dict, kind: str, layer: int, suffix: str) -> str:
    return _prefixed(params, f"rnn.{kind}_l{layer}{suffix}")


def _text_rnn_units(config, params: dict) -> list[UnitSet]:
    hidden, gates = config.hidden_size, _RNN_GATES[config.cell]
    suffixes = ["", "_reverse"] if config.bidirectional else [""]
    sets = []
    for layer in range(config.num_layers):
        for direction, suffix in enumerate(suffixes):
            name = functools.partial(_rnn_param, params, layer=layer, suffix=suffix)  # name("weight_hh") -> ...
            gate_rows = dict(dim=0, period=hidden, repeats=gates)
            if layer + 1 < config.num_layers:
                next_inputs = [f"rnn.weight_ih_l{layer + 1}{s}" for s in suffixes]
            else:
                next_inputs = ["classifier.weight"]
            readers = [Block(name("weight_hh"), 1)]
            readers += [Block(_prefixed(params, p), 1, offset=direction * hidden) for p in next_inputs]
            sets.append(UnitSet(
                name=f"rnn layer {layer}{' reverse' if suffix else ''} hidden units",
                kind="hidden_size",
                size=hidden,
                producers=(Block(name("weight_ih"), **gate_rows), Block(name("weight_hh"), **gate_rows)),
                readers=tuple(readers),
                biases=tuple(Block(name(b), **gate_rows) for b in ("bias_ih", "bias_hh")
                             if any(p.endswith(f"rnn.{b}_l{layer}{suffix}") for p in params)),
            ))
    return sets


def _encoder_units(config, params: dict) -> list[UnitSet]:
    heads = config.num_attention_heads
    head_dim = config.hidden_size // heads
    sets = []
    for name in params:
        match = _ATTENTION_QUERY.match(name)
        if not match:
            continue
        layer = match["layer"]
        qkv = [f"{layer}attention.self.{p}" for p in ("query", "key", "value")]
        sets.append(UnitSet(
            name=f"{layer}attention heads",
            kind="heads",
            size=heads,
            producers=tuple(Block(f"{p}.weight", 0, width=head_dim) for p in qkv),
            readers=(Block(f"{layer}attention.output.dense.weight", 1, width=head_dim),),
            biases=tuple(Block(f"{p}.bias", 0, width=head_dim) for p in qkv if f"{p}.bias" in params),
        ))
        sets.append(UnitSet(
            name=f"{layer}FFN neurons",
            kind="intermediate_size",
            size=params[f"{layer}intermediate.dense.weight"].shape[0],
            producers=(Block(f"{layer}intermediate.dense.weight", 0),),
            readers=(Block(f"{layer}output.dense.weight", 1),),
            biases=(Block(f"{layer}intermediate.dense.bias", 0),) if f"{layer}intermediate.dense.bias" in params else (),
        ))
    return sets
