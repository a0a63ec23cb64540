"""Embedding-row survival by word frequency, and the fact it rests on: word ids are frequency ranks."""

from collections import Counter

import pandas as pd
import torch

from hf_lth.analysis import embedding_row_survival
from hf_lth.data.tokenization import train_word_tokenizer
from hf_lth.pruning.masks import TicketMask


def test_word_tokenizer_numbers_words_by_frequency(sample_data_dir):
    texts = pd.read_parquet(sample_data_dir / "imdb_train.parquet")["text"].tolist()[:300]
    tokenizer = train_word_tokenizer(texts, vocab_size=500)
    counts = Counter(i for text in texts for i in tokenizer(text)["input_ids"])
    frequencies = [counts[i] for i in range(2, len(tokenizer))]
    assert frequencies == sorted(frequencies, reverse=True)


def test_rows_summarised_by_band_with_the_most_pruned_frequent_words():
    kept = torch.ones(12, 4, dtype=torch.bool)
    kept[2] = False  # the most frequent word, wholly pruned
    kept[5, :3] = False
    kept[11, :2] = False
    survival = embedding_row_survival(TicketMask({"emb": kept}), "emb", [f"t{i}" for i in range(12)], bands=2,
                                      notable=2, frequent=5)
    assert survival["rows"] == 10 and survival["fully_pruned"] == 1
    assert [b["ids"] for b in survival["bands"]] == [[2, 6], [7, 11]]
    assert [round(b["kept"], 3) for b in survival["bands"]] == [round((20 - 4 - 3) / 20, 3), round((20 - 2) / 20, 3)]
    assert survival["most_pruned_frequent"] == [{"word": "t2", "rank": 1, "kept": 0.0},
                                                {"word": "t5", "rank": 4, "kept": 0.25}]
    assert [w["kept"] for w in survival["most_kept_frequent"]] == [1.0, 1.0]
