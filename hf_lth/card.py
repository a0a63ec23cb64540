"""Model cards for tickets, built with huggingface_hub's `ModelCard` and `ModelCardData`."""

from __future__ import annotations

from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .report import round_table

CARD_TAGS = ["lottery-ticket", "pruning", "sparse", "hf_lth", "text-classification"]
_DATASET_IDS = {"imdb": "stanfordnlp/imdb", "yelp_review_full": "Yelp/yelp_review_full", "ag_news": "fancyzhx/ag_news",
                "sst2": "stanfordnlp/sst2"}


def ticket_card(record: dict[str, Any], results: dict[str, Any], repo_id: str, command: str | None = None,
                plot_file: str | None = None) -> ModelCard:
    """The card of one ticket: metadata (tags, dataset, eval results) and a body with the round table,
    the plot, the command that produced it, and how to load the ticket and keep training it under its mask."""
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
        eval_results=eval_results or None,
        lth={key: record.get(key) for key in ("round", "sparsity", "sparsity_without_embedding", "strategy", "rewind",
                                              "prune_rate", "seed")},
    )
    sparsity = 100 * record["sparsity"]
    without = record.get("sparsity_without_embedding")
    embedding_note = (f" ({100 * without:.1f}% of those outside the embedding, which holds most of them)"
                      if without is not None and abs(100 * without - sparsity) >= 0.05 else "")
    lines = [
        f"# {model_name}",
        "",
        f"A lottery ticket found with hf_lth: round {record['round']} of "
        f"iterative magnitude pruning ({record['strategy']}, {100 * (record.get('prune_rate') or 0):.0f}% of the "
        f"survivors per round, rewinding to `{record['rewind']}`), **{sparsity:.1f}% of its prunable weights are "
        f"zero**{embedding_note}. The ticket was chosen on the validation split.",
        "",
        "| split | accuracy | macro-F1 |",
        "|---|---|---|",
    ]
    for prefix, split in (("eval", "validation"), ("test", "test")):
        if record.get(f"{prefix}_accuracy") is not None:
            lines.append(f"| {split} | {100 * record[f'{prefix}_accuracy']:.2f} | "
                         f"{100 * record.get(f'{prefix}_f1', float('nan')):.2f} |")
    lines += ["", "## All rounds", "", round_table(results), ""]
    if plot_file:
        lines += [f"![accuracy versus sparsity]({plot_file})", ""]
    if command:
        lines += ["## Reproduce", "", "```bash", command, "```", ""]
    lines += [
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
        f'model = AutoModelForSequenceClassification.from_pretrained("{repo_id}", trust_remote_code=True)',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}", trust_remote_code=True)',
        "```",
        "",
        "`trust_remote_code=True` is needed only for the TextCNN/TextRNN models where hf_lth is not installed; "
        "`config.lth` holds the ticket's record (round, per-layer sparsity, metrics).",
        "",
        "Keep training the same sparse network (on this dataset or another) with hf_lth:",
        "",
        "```bash",
        f"python examples/run_lth.py --model_name_or_path {repo_id} --lth_init_mask {repo_id} --train_file ...",
        "```",
        "",
    ]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))
