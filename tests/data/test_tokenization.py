"""Word-level and WordPiece tokenizers trained from scratch on real reviews."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from hf_lth.data.loading import SAMPLE_FILES
from hf_lth.data.tokenization import train_word_tokenizer, train_wordpiece_tokenizer
from hf_lth.errors import LTHInputError

REVIEW = "A GREAT film!<br /><br />The acting<br/>was superb<BR>and moving."


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return pq.read_table(SAMPLE_FILES["train"]).column("text").to_pylist()


@pytest.fixture(scope="module")
def word(texts):
    return train_word_tokenizer(texts, vocab_size=3000, model_max_length=128)


@pytest.fixture(scope="module")
def wordpiece(texts):
    return train_wordpiece_tokenizer(texts, vocab_size=1000, model_max_length=128)


def test_word_tokenizer_normalises(word):
    tokens = word.tokenize(REVIEW)
    assert tokens == ["a", "great", "film", "!", "the", "acting", "was", "superb", "and", "moving", "."]
    assert not any("br" == t or "<" in t for t in tokens)


def test_word_tokenizer_specials_and_unknown_words(word):
    assert word.pad_token_id == 0 and word.unk_token_id == 1
    assert word.convert_ids_to_tokens([0, 1]) == ["[PAD]", "[UNK]"]
    assert word("zxqvbnm film")["input_ids"] == [1, word.convert_tokens_to_ids("film")]
    assert word.padding_side == "right" and word.model_max_length == 128
    batch = word(["film", "a great film"], padding=True)
    assert batch["input_ids"][0][1:] == [0, 0] and batch["attention_mask"][0] == [1, 0, 0]
    assert "token_type_ids" not in batch


def test_word_tokenizer_caps_the_vocabulary(texts, word):
    assert len(word) == 3000  # the sample has far more distinct words
    tiny = train_word_tokenizer(texts[:100], vocab_size=50)
    assert len(tiny) == 50 and tiny.convert_ids_to_tokens([0, 1]) == ["[PAD]", "[UNK]"]


def test_word_tokenizer_can_keep_case(texts):
    cased = train_word_tokenizer(texts[:200], vocab_size=500, lowercase=False)
    assert cased.tokenize("The the") == ["The", "the"]


@pytest.mark.parametrize("name", ["word", "wordpiece"])
def test_save_and_reload_round_trip(request, tmp_path, texts, name):
    tokenizer = request.getfixturevalue(name)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    sample = texts[:20] + [REVIEW]
    kwargs = {"truncation": True, "max_length": 64, "padding": True}
    assert reloaded(sample, **kwargs) == tokenizer(sample, **kwargs)
    assert reloaded.pad_token_id == 0 and reloaded.padding_side == "right" and len(reloaded) == len(tokenizer)
    assert reloaded.model_input_names == tokenizer.model_input_names


def test_wordpiece_is_bert_style(wordpiece):
    assert len(wordpiece) == 1000
    assert wordpiece.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    encoded = wordpiece(REVIEW)
    tokens = wordpiece.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "br" not in tokens
    assert wordpiece.decode(encoded["input_ids"], skip_special_tokens=True).startswith("a great film!")
    pair = wordpiece("good", "bad")
    assert pair["token_type_ids"][-1] == 1 and pair["token_type_ids"][0] == 0
    assert any(t.startswith("##") for t in wordpiece.tokenize("unbelievably overacted"))


def test_wordpiece_feeds_a_from_scratch_bert(wordpiece):
    config = BertConfig(
        vocab_size=len(wordpiece), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=128, pad_token_id=wordpiece.pad_token_id, num_labels=2,
    )
    model = BertForSequenceClassification(config).eval()
    batch = wordpiece(["a good film", REVIEW], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, 2)


def test_vocab_size_too_small(texts):
    with pytest.raises(LTHInputError, match="vocab_size must be at least 5"):
        train_wordpiece_tokenizer(texts[:10], vocab_size=3)
