"""Which vocabulary rows of a ticket's embedding survive, by how frequent their word is.

hf_lth's word tokenizer numbers words by their frequency in the training texts (id 2 is the most frequent word;
`tests/analysis/test_vocabulary.py` checks it), so a row's id is its frequency rank.
"""

from __future__ import annotations

from typing import Any

import torch

from ..pruning.masks import TicketMask


def embedding_row_survival(mask: TicketMask, name: str, tokens: list[str], bands: int = 10, notable: int = 20,
                           frequent: int = 1000, first_word_id: int = 2) -> dict[str, Any]:
    """Kept fraction of each embedding row of `mask[name]`, summarised by frequency band.

    Returns `bands` (the mean kept fraction of the rows in each of `bands` equal slices of the ids from
    `first_word_id` on, most frequent first), `fully_pruned` (rows with no weight kept), and `most_pruned_frequent`
    (the `notable` words among the `frequent` most frequent with the fewest kept weights, with their kept fraction).
    `tokens[i]` is the token of id i.
    """
    rows = mask[name].float().mean(dim=1)[first_word_id:]
    words = tokens[first_word_id:first_word_id + len(rows)]
    edges = torch.linspace(0, len(rows), bands + 1).round().long().tolist()
    band_means = [{"ids": [first_word_id + lo, first_word_id + hi - 1], "kept": float(rows[lo:hi].mean())}
                  for lo, hi in zip(edges, edges[1:]) if hi > lo]
    top = rows[:frequent]
    order = torch.argsort(top, stable=True).tolist()
    return {
        "tensor": name,
        "rows": len(rows),
        "bands": band_means,
        "fully_pruned": int((rows == 0).sum()),
        "most_pruned_frequent": [{"word": words[i], "rank": i + 1, "kept": float(top[i])} for i in order[:notable]],
        "most_kept_frequent": [{"word": words[i], "rank": i + 1, "kept": float(top[i])}
                               for i in order[::-1][:notable]],
    }
