"""Which parameters are prunable: include/exclude regular expressions, with a default per model family."""

from __future__ import annotations

import re

import torch

from ..errors import LTHInputError

# CNN/RNN: every weight, the embedding included (as the research seed did); biases stay dense.
_SMALL_MODEL_SCOPE = r"weight,!bias,!norm"
# BERT-like encoders: the linear weights of each layer (Chen et al., 2020), not embeddings, pooler or classifier.
_ENCODER_SCOPE = (
    r"layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.weight$"
)
DEFAULT_SCOPES: dict[str, str] = {
    "text_cnn": _SMALL_MODEL_SCOPE,
    "text_rnn": _SMALL_MODEL_SCOPE,
    "bert": _ENCODER_SCOPE,
    "roberta": _ENCODER_SCOPE,
    "xlm-roberta": _ENCODER_SCOPE,
    "electra": _ENCODER_SCOPE,
}
NO_EMBEDDING = "no_embedding"  # the named preset: "auto" with every embedding left dense
# Any other model: the weights of its linear layers, except the classification head and pooler.
_FALLBACK_EXCLUDE = re.compile(r"(classifier|pooler|score|embed|norm)", re.IGNORECASE)


def parse_scope(spec: str) -> tuple[list[re.Pattern], list[re.Pattern]]:
    """Split "a,b,!c" into include patterns (a, b) and exclude patterns (c); patterns are `re.search`ed."""
    includes, excludes = [], []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        target = excludes if item.startswith("!") else includes
        pattern = item[1:] if item.startswith("!") else item
        try:
            target.append(re.compile(pattern))
        except re.error as err:
            raise LTHInputError(f"lth_prune_scope pattern '{pattern}' is not a valid regular expression: {err}.") from err
    return includes, excludes


def resolve_prune_scope(model: torch.nn.Module, spec: str = "auto") -> list[str]:
    """Names of the prunable parameters of `model`, in the model's parameter order.

    `spec` is "auto" (the family default from `DEFAULT_SCOPES`, else every linear weight outside the head),
    "no_embedding" (the same without the `nn.Embedding` weights: sparsity then counts the layers that compute),
    or comma-separated regular expressions, those starting with "!" excluding.

    Args:
        model: the model whose parameters to select.
        spec: the `--lth_prune_scope` value.

    Returns:
        The selected parameter names.

    Raises:
        LTHInputError: an invalid regular expression, or a scope that selects no parameter.
    """
    named = list(model.named_parameters())
    if spec == NO_EMBEDDING:
        embeddings = embedding_parameter_names(model)
        return _nonempty([n for n in resolve_prune_scope(model, "auto") if n not in embeddings], named, spec)
    if spec == "auto":
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        if model_type in DEFAULT_SCOPES:
            spec = DEFAULT_SCOPES[model_type]
        else:
            linear = {f"{mod_name}.weight" for mod_name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)}
            names = [name for name, _ in named if name in linear and not _FALLBACK_EXCLUDE.search(name)]
            return _nonempty(names, named, "auto")
    includes, excludes = parse_scope(spec)
    names = [
        name
        for name, _ in named
        if any(p.search(name) for p in includes) and not any(p.search(name) for p in excludes)
    ]
    return _nonempty(names, named, spec)


def _nonempty(names: list[str], named: list, spec: str) -> list[str]:
    if not names:
        raise LTHInputError(
            f"lth_prune_scope '{spec}' matches no parameter of the model; its parameters are e.g. "
            f"{[n for n, _ in named[:6]]}."
        )
    return names


def embedding_parameter_names(model: torch.nn.Module) -> set[str]:
    """Names of the parameters of the model's `nn.Embedding` modules (word, position, token-type embeddings)."""
    return {
        f"{module_name}.{name}" if module_name else name
        for module_name, module in model.named_modules()
        if isinstance(module, torch.nn.Embedding)
        for name, _ in module.named_parameters(recurse=False)
    }
