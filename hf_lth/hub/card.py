"""Model cards for tickets, built with huggingface_hub's `ModelCard` and `ModelCardData`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..report.text import round_table

CARD_TAGS = ["lottery-ticket", "pruning", "sparse", "hf_lth", "text-classification"]
_DATASET_IDS = {"imdb": "stanfordnlp/imdb", "yelp_review_full": "Yelp/yelp_review_full", "ag_news": "fancyzhx/ag_news",
                "sst2": "stanfordnlp/sst2"}


def ticket_card(record: dict[str, Any], results: dict[str, Any], repo_id: str, command: str | None = None,
                plot_file: str | None = None, remote_code: bool = True, shrunk: dict[str, Any] | None = None) -> ModelCard:
    """The model card of one ticket.

    Its metadata gives the tags, dataset, eval results and base model; its body the round table, the plot, the
    command that produced the ticket, and how to load the ticket and keep training it under its mask.

    Args:
        record: the ticket's round record (from `lth_results.json`).
        results: the experiment's results, for the round table.
        repo_id: the Hub repository (or local folder) the loading snippets name; its last part names the model.
        command: the command that produced the experiment, shown under "Reproduce"; None leaves it out.
        plot_file: the accuracy-versus-sparsity plot's file name beside the card; None leaves it out.
        remote_code: whether the ticket's config maps its classes to code shipped in the folder (TextCNN/TextRNN);
            a transformers architecture such as BERT loads without it, and the card says so.
        shrunk: what shrinking a channel ticket changed and its measured speed
            (`hf_lth.hub.tickets.stage_ticket(shrink=True)`); None for an unshrunk ticket.

    Returns:
        The card; `.save(path)` writes it as a README.
    """
    dataset = str(record.get("dataset") or "unknown")
    dataset_id = _DATASET_IDS.get(dataset, dataset)
    model_name = repo_id.split("/")[-1]
    eval_results = [
        EvalResult(task_type="text-classification", dataset_type=dataset_id, dataset_name=dataset,
                   dataset_split=split, metric_type=metric, metric_value=record[f"{prefix}_{metric}"],
                   metric_name=f"{metric} ({split})")
        for prefix, split in (("eval", "validation"), ("test", "test"))
        for metric in ("accuracy", "f1")
        if record.get(f"{prefix}_{metric}") is not None
    ]
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=CARD_TAGS,
        datasets=[dataset_id] if dataset_id != "unknown" else None,
        metrics=["accuracy", "f1"],
        model_name=model_name,
        base_model=base_model_id(record.get("model_name_or_path")),
        eval_results=eval_results or None,
        lth={key: _rounded(record.get(key)) for key in ("round", "sparsity", "sparsity_without_embedding", "strategy",
                                                        "rewind", "prune_rate", "prune_schedule", "seed")},
    )
    sparsity = 100 * record["sparsity"]
    without = record.get("sparsity_without_embedding")
    embedding_note = (f" ({100 * without:.1f}% of those outside the embedding, which holds most of them)"
                      if without is not None and abs(100 * without - sparsity) >= 0.05 else "")
    lines = [
        f"# {model_name}",
        "",
        f"A lottery ticket found with hf_lth: round {record['round']} of "
        f"{_pruning_phrase(record)}, rewinding to `{record['rewind']}`), **{sparsity:.1f}% of its prunable weights are "
        f"zero**{embedding_note}. The ticket was chosen on the validation split.",
        "",
        "| split | accuracy | macro-F1 |",
        "|---|---|---|",
    ]
    for prefix, split in (("eval", "validation"), ("test", "test")):
        if record.get(f"{prefix}_accuracy") is not None:
            lines.append(f"| {split} | {100 * record[f'{prefix}_accuracy']:.2f} | "
                         f"{100 * record.get(f'{prefix}_f1', float('nan')):.2f} |")
    if shrunk:
        lines += ["", _shrunk_paragraph(shrunk)]
    lines += ["", "## All rounds", "", round_table(results), ""]
    if plot_file:
        lines += [f"![accuracy versus sparsity]({plot_file})", ""]
    if command:
        lines += ["## Reproduce", "", "```bash", command, "```", ""]
    remote = ", trust_remote_code=True" if remote_code else ""
    lines += [
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline",
        f'classifier = pipeline("text-classification", model="{repo_id}"{remote})',
        'print(classifier("A wonderful film with a great cast."))',
        "",
        f'model = AutoModelForSequenceClassification.from_pretrained("{repo_id}"{remote})',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}"{remote})',
        "```",
        "",
        ("`trust_remote_code=True` (in `pipeline` as in `from_pretrained`) runs the model code shipped in this folder "
         "(TextCNN/TextRNN); without it, transformers refuses to load the ticket where hf_lth is not imported; "
         if remote_code else
         "The ticket is a plain transformers model: it loads without hf_lth and without remote code; pruned weights "
         "are stored as zeros; ") + "`config.lth` holds the ticket's record (round, per-layer sparsity, metrics).",
        "",
    ]
    if not shrunk:
        lines += [
            "Keep training the same sparse network (on this dataset or another) with hf_lth:",
            "",
            "```bash",
            f"hf-lth-run --model_name_or_path {repo_id} --lth_init_mask {repo_id} --train_file ...",
            "```",
            "",
        ]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))


def _shrunk_paragraph(shrunk: dict[str, Any]) -> str:
    changed = ", ".join(f"`{name}` {before} → {after}" for name, (before, after) in shrunk["changed"].items())
    dense, small = shrunk["parameters"]
    batch, tokens = shrunk["batch"]
    zeros = f" The {'; '.join(shrunk['kept_as_zeros'])}." if shrunk["kept_as_zeros"] else ""
    return (f"**This is the ticket shrunk into a smaller dense model**: its pruned units are removed ({changed}), "
            f"{small:,} parameters instead of {dense:,}. It runs at **{shrunk['speedup']:.2f}×** the dense model's "
            f"CPU throughput ({shrunk['examples_per_second'][1]:,.0f} against {shrunk['examples_per_second'][0]:,.0f} "
            f"examples/s at batch {batch} × {tokens} tokens in {shrunk.get('precision', 'fp32')}, the training "
            f"forward, {shrunk['threads']} threads, measured when it was staged)."
            f"{zeros} It holds no mask: there is nothing left to prune.")


def _pruning_phrase(record: dict[str, Any]) -> str:
    rate = 100 * (record.get("prune_rate") or 0)
    schedule = record.get("prune_schedule", "geometric")
    if schedule == "one_shot":
        return f"one-shot magnitude pruning ({record['strategy']} to {rate:.0f}%"
    share = "of the original weights" if schedule == "linear" else "of the survivors"
    return f"iterative magnitude pruning ({record['strategy']}, {rate:.0f}% {share} per round"


def base_model_id(name_or_path: str | None) -> str | None:
    """The Hub id of the checkpoint a ticket was pruned from: a pretrained preset's, a Hub id as given; None for a
    preset trained from scratch or a local folder."""
    from ..loading.models import MODEL_PRESETS
    from ..loading.pretrained import PRETRAINED_PRESETS

    if not name_or_path or name_or_path in MODEL_PRESETS or Path(name_or_path).exists():
        return None
    if name_or_path in PRETRAINED_PRESETS:
        return PRETRAINED_PRESETS[name_or_path].hub_id
    return name_or_path if name_or_path.count("/") <= 1 and not name_or_path.startswith((".", "/", "~")) else None


def _rounded(value):
    """Floats to 6 significant digits for the card's metadata (0.19999999999999996 -> 0.2); other values as they are."""
    return float(f"{value:.6g}") if isinstance(value, float) else value
