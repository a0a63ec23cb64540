"""How much of the embedding a pruned model keeps for the words the train and test texts actually use.

For a ticket (`OUTPUT_DIR/round_XX`) and each control of the same round, this counts, over every token
occurrence of the first `--max_seq_length` tokens of each text, how many of the word's embedding weights survive
the mask, and prints the mean and the share of occurrences whose word lost its whole row, on the train and the test
file. It explains a ticket that generalises worse than a random mask with the same layer-wise sparsity (the IMDb
LSTM in docs/results.md).

    python experiments/embedding_coverage.py runs/imdb_lstm_imp_seed42 --round 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from datasets import Dataset
from transformers import PreTrainedTokenizerFast

from hf_lth import LTHInputError, load_ticket_mask
from hf_lth.pruning.masks import MASK_FILE
from hf_lth.storage.folder import ExperimentFolder


def embedding_mask(folder: Path, name: str = "embedding.weight") -> torch.Tensor:
    """The (vocab, width) mask of the embedding matrix in the ticket folder `folder`."""
    try:
        mask = load_ticket_mask(folder / MASK_FILE)  # a file path: never looked up on the Hub
    except LTHInputError as err:
        raise SystemExit(f"error: {err}") from err
    if name not in mask:
        raise SystemExit(f"error: the mask in {folder} has no {name!r} (it has {sorted(mask)})")
    return mask[name]


def token_counts(file: str, tokenizer, max_seq_length: int, vocab_size: int) -> torch.Tensor:
    """How often each token id occurs in the truncated texts of `file`."""
    texts = list(Dataset.from_parquet(file)["text"])
    encoded = tokenizer(texts, truncation=True, max_length=max_seq_length, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([i for row in encoded for i in row], dtype=torch.long)
    return torch.bincount(ids, minlength=vocab_size).double()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--train_file", default="../shared/data/imdb/train.parquet")
    parser.add_argument("--test_file", default="../shared/data/imdb/test.parquet")
    parser.add_argument("--max_seq_length", type=int, default=128)
    args = parser.parse_args(argv)

    experiment = ExperimentFolder(args.output_dir)
    ticket = experiment.round_dir(args.round)
    folders = {"IMP ticket": ticket}
    for kind in experiment.control_names():
        if experiment.round_dir(args.round, kind).is_dir():
            folders[kind.replace("_", " ")] = experiment.round_dir(args.round, kind)
    masks = {label: embedding_mask(folder) for label, folder in folders.items()}
    vocab_size, width = masks["IMP ticket"].shape
    tokenizer = PreTrainedTokenizerFast.from_pretrained(ticket)
    counts = {split: token_counts(file, tokenizer, args.max_seq_length, vocab_size)
              for split, file in (("train", args.train_file), ("test", args.test_file))}

    print(f"{args.output_dir}, round {args.round}, first {args.max_seq_length} tokens of each text")
    print("| mask | embedding sparsity % | train: kept weights per token | train: tokens with no weight % "
          "| test: kept weights per token | test: tokens with no weight % |")
    print("|---|---|---|---|---|---|")
    for label, mask in masks.items():
        kept = mask.sum(dim=1)
        cells = [label, f"{100 * (1 - kept.sum().item() / (vocab_size * width)):.1f}"]
        for split in ("train", "test"):
            c = counts[split]
            cells.append(f"{(c * kept).sum().item() / c.sum().item():.1f} of {width}")
            cells.append(f"{100 * c[kept == 0].sum().item() / c.sum().item():.2f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
