"""Loading, splitting, label encoding, tokenising and collating text-classification data."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Dataset, DatasetDict
from transformers import DataCollatorWithPadding, HfArgumentParser, default_data_collator

from hf_lth.data import loading as data_module
from hf_lth.data.loading import (
    DATASET_PRESETS,
    SHIPPED_SAMPLES,
    DataArguments,
    TextClassificationData,
    build_data_collator,
    load_text_classification_data,
    tokenize_dataset,
)
from hf_lth.data.tokenization import train_word_tokenizer, train_wordpiece_tokenizer
from hf_lth.errors import LTHInputError
from hf_lth.loading.models import ModelArguments


# --- fixtures: small frames of real reviews, from the shipped samples (sorted by label) -------------


@pytest.fixture(scope="module")
def imdb_frame(sample_rows) -> pd.DataFrame:
    """500 negative + 500 positive real IMDb train reviews."""
    return sample_rows("imdb", "train", 500)


@pytest.fixture(scope="module")
def imdb_test_frame(sample_rows) -> pd.DataFrame:
    return sample_rows("imdb", "test", 10)


@pytest.fixture(scope="module")
def yelp_frame(sample_rows) -> pd.DataFrame:
    """20 real Yelp train reviews of each star rating (labels 0..4)."""
    return sample_rows("yelp5", "train", 20)


@pytest.fixture(scope="module")
def word_tokenizer():
    frame = pq.read_table(data_module.SAMPLE_FILES["train"]).to_pandas()
    return train_word_tokenizer(frame["text"], vocab_size=2000)


def write(frame: pd.DataFrame, path: Path) -> str:
    """Write `frame` in the format its extension names; return the path as str."""
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    return str(path)


def load(tmp_path: Path, seed: int = 42, **kwargs) -> TextClassificationData:
    return load_text_classification_data(DataArguments(dataset_cache_dir=str(tmp_path / "cache"), **kwargs), seed=seed)


# --- loading and splitting -------------------------------------------------------------------------


def test_shipped_sample_loads_with_no_arguments():
    data = load_text_classification_data(DataArguments())
    assert {name: len(ds) for name, ds in data.raw.items()} == {"train": 1400, "validation": 600, "test": 1000}
    assert data.num_labels == 2 and data.id2label == {0: "neg", 1: "pos"} and data.label2id == {"neg": 0, "pos": 1}
    for ds in data.raw.values():
        assert ds.column_names == ["text", "label"]
        assert isinstance(ds.features["label"], ClassLabel)
    assert Counter(data.raw["test"]["label"]) == {0: 500, 1: 500}


def test_shipped_samples_load_by_name_offline(monkeypatch):
    monkeypatch.setattr(data_module, "_load_hub", lambda *args: pytest.fail("a shipped sample was read from the Hub"))
    default = load_text_classification_data(DataArguments())
    imdb = load_text_classification_data(DataArguments(dataset_name="imdb_sample"))
    assert imdb.raw["validation"]["text"] == default.raw["validation"]["text"] and imdb.id2label == default.id2label

    yelp = load_text_classification_data(DataArguments(dataset_name="yelp5_sample"))
    assert {name: len(ds) for name, ds in yelp.raw.items()} == {"train": 1750, "validation": 750, "test": 1000}
    assert yelp.num_labels == 5 and yelp.id2label == dict(enumerate(DATASET_PRESETS["yelp_review_full"].label_names))
    assert Counter(yelp.raw["test"]["label"]) == {0: 144, 1: 84, 2: 109, 3: 215, 4: 448}  # imbalanced, as real
    carved = Counter(yelp.raw["train"]["label"]) + Counter(yelp.raw["validation"]["label"])
    assert carved == {0: 375, 1: 218, 2: 258, 3: 555, 4: 1094}
    assert abs(Counter(yelp.raw["validation"]["label"])[4] - 1094 * 0.3) <= 1  # stratified


def test_shipped_sample_files_are_present_and_small():
    for name, sample in SHIPPED_SAMPLES.items():
        assert DataArguments(dataset_name=name.upper()).dataset_name == name
        for split, path in sample.files.items():
            assert path.is_file() and path.stat().st_size < 2_000_000, (name, split)
            assert pq.read_schema(path).names == ["text", "label"]


def test_validation_is_carved_stratified(tmp_path, imdb_frame):
    data = load(tmp_path, train_file=write(imdb_frame, tmp_path / "train.parquet"))
    assert len(data.raw["train"]) == 700 and len(data.raw["validation"]) == 300
    assert "test" not in data.raw  # a missing test split is allowed for local files
    for split, expected in (("train", 350), ("validation", 150)):
        counts = Counter(data.raw[split]["label"])
        assert abs(counts[0] - expected) <= 1 and abs(counts[1] - expected) <= 1
    # no row is in both splits
    assert not set(data.raw["train"]["text"]) & set(data.raw["validation"]["text"])


def test_split_is_seeded(tmp_path, imdb_frame):
    train_file = write(imdb_frame, tmp_path / "train.parquet")
    first, again = load(tmp_path, train_file=train_file), load(tmp_path, train_file=train_file)
    other = load(tmp_path, seed=7, train_file=train_file)
    assert first.raw["validation"]["text"] == again.raw["validation"]["text"]
    assert first.raw["train"]["text"] == again.raw["train"]["text"]
    assert first.raw["validation"]["text"] != other.raw["validation"]["text"]
    # the train split is shuffled (the file is sorted by label)
    assert len(set(first.raw["train"]["label"][:50])) == 2


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_local_file_formats(tmp_path, imdb_frame, imdb_test_frame, suffix):
    train = imdb_frame.groupby("label").head(30)
    validation = imdb_frame.groupby("label").tail(5)
    data = load(
        tmp_path,
        train_file=write(train, tmp_path / f"train{suffix}"),
        validation_file=write(validation, tmp_path / f"validation{suffix}"),
        test_file=write(imdb_test_frame, tmp_path / f"test{suffix}"),
    )
    assert {name: len(ds) for name, ds in data.raw.items()} == {"train": 60, "validation": 10, "test": 20}
    assert set(data.raw["train"]["text"]) == set(train["text"])  # quotes, commas, <br /> survive
    assert data.id2label == {0: "0", 1: "1"}


def test_mixed_file_formats_and_custom_columns(tmp_path, imdb_frame):
    frame = imdb_frame.groupby("label").head(20).rename(columns={"text": "review", "label": "stars"})
    data = load(
        tmp_path,
        train_file=write(frame, tmp_path / "train.csv"),
        test_file=write(frame.head(30), tmp_path / "test.jsonl"),
        text_column="review",
        label_column="stars",
    )
    assert data.raw["test"].column_names == ["text", "label"] and len(data.raw["test"]) == 30


def test_string_labels_map_to_sorted_ids(tmp_path, imdb_frame):
    frame = imdb_frame.groupby("label").head(20).copy()
    frame["label"] = frame["label"].map({0: "negative", 1: "positive"})
    data = load(tmp_path, train_file=write(frame, tmp_path / "train.csv"), validation_split_percentage=25)
    assert data.id2label == {0: "negative", 1: "positive"} and data.label2id == {"negative": 0, "positive": 1}
    train = data.raw["train"]
    for text, label in zip(train["text"][:10], train["label"][:10]):
        assert data.id2label[label] == frame.loc[frame["text"] == text, "label"].iloc[0]


def test_integer_labels_written_as_strings_are_ids(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(f'{{"text": "review {i}", "label": "{i % 3}"}}\n' for i in range(30)))
    data = load(tmp_path, train_file=str(path))
    assert data.id2label == {0: "0", 1: "1", 2: "2"}
    assert Counter(data.raw["validation"]["label"]) == {0: 3, 1: 3, 2: 3}


def test_unused_label_ids_are_warned_about(tmp_path, yelp_frame, caplog):
    stars = yelp_frame.assign(label=yelp_frame["label"] + 1)  # 1..5 stars: id 0 never occurs
    with caplog.at_level(logging.WARNING, logger="hf_lth.data.loading"):
        data = load(tmp_path, train_file=write(stars, tmp_path / "stars.csv"))
    assert data.num_labels == 6 and "1 of the 6 label ids never occur" in caplog.text


def test_yelp_sample_has_five_labels(tmp_path, yelp_frame):
    data = load(tmp_path, train_file=write(yelp_frame, tmp_path / "yelp.parquet"), validation_split_percentage=20)
    assert data.num_labels == 5 and data.id2label == {i: str(i) for i in range(5)}
    assert Counter(data.raw["validation"]["label"]) == {i: 4 for i in range(5)}


def test_max_samples_apply_after_splitting():
    data = load_text_classification_data(
        DataArguments(max_train_samples=50, max_eval_samples=20, max_test_samples=30)
    )
    assert {name: len(ds) for name, ds in data.raw.items()} == {"train": 50, "validation": 20, "test": 30}
    assert set(data.raw["train"]["label"]) == {0, 1} and set(data.raw["test"]["label"]) == {0, 1}


def test_some_empty_texts_are_dropped_with_a_warning(tmp_path, imdb_frame, caplog):
    frame = imdb_frame.groupby("label").head(10).copy()
    frame.loc[3, "text"] = "   "
    frame.loc[5, "text"] = None
    with caplog.at_level(logging.WARNING, logger="hf_lth.data.loading"):
        data = load(tmp_path, train_file=write(frame, tmp_path / "train.jsonl"), validation_split_percentage=20)
    assert len(data.raw["train"]) + len(data.raw["validation"]) == 18
    assert "Dropping 2 rows with an empty or missing text" in caplog.text and "first at row 3" in caplog.text


def test_hub_preset_is_read_with_its_columns(monkeypatch):
    """sst2: text column `sentence`; its Hub validation split becomes our test split."""
    features = {"idx": [0, 1, 2, 3], "sentence": ["good", "bad", "fine", "awful"], "label": [1, 0, 1, 0]}
    fake = DatasetDict(
        train=Dataset.from_dict({k: v * 5 for k, v in features.items()}),
        validation=Dataset.from_dict(features),
        test=Dataset.from_dict({**features, "label": [-1] * 4}),  # unlabeled, as on the Hub
    )
    calls = []
    monkeypatch.setattr(data_module, "load_dataset", lambda *args, **kwargs: calls.append(args) or fake)
    data = load_text_classification_data(DataArguments(dataset_name="stanfordnlp/sst2"))
    assert calls == [("stanfordnlp/sst2", None)]
    assert data.id2label == {0: "negative", 1: "positive"}
    assert {name: len(ds) for name, ds in data.raw.items()} == {"train": 14, "validation": 6, "test": 4}
    assert data.raw["test"]["text"] == features["sentence"]


def test_presets_are_consistent():
    for preset in DATASET_PRESETS.values():
        assert len(preset.label_names) == preset.num_labels
    assert DATASET_PRESETS["sst2"].test_split == "validation" and DATASET_PRESETS["sst2"].text_column == "sentence"


def test_data_arguments_are_cli_flags():
    parser = HfArgumentParser((ModelArguments, DataArguments))  # no flag may clash with ModelArguments
    _, args = parser.parse_args_into_dataclasses(
        ["--dataset_name", "Yelp/yelp_review_full", "--max_seq_length", "64", "--pad_to_max_length"]
    )
    assert args.dataset_name == "yelp_review_full" and args.max_seq_length == 64 and args.pad_to_max_length
    _, args = parser.parse_args_into_dataclasses(["--dataset_name", "yelp5_sample"])
    assert args.dataset_name == "yelp5_sample"


# --- tokenising and collating ----------------------------------------------------------------------


def test_tokenize_columns_and_truncation(word_tokenizer):
    data = load_text_classification_data(DataArguments(max_train_samples=64, max_eval_samples=16, max_test_samples=16))
    tokenized = tokenize_dataset(data, word_tokenizer, max_seq_length=32)
    for name, ds in tokenized.items():
        assert ds.column_names == ["labels", "input_ids", "attention_mask"]
        assert ds["labels"] == data.raw[name]["label"]
    assert all(len(ids) <= 32 for ids in tokenized["train"]["input_ids"])
    full = word_tokenizer(data.raw["train"][0]["text"])["input_ids"]
    assert len(full) > 32 and tokenized["train"][0]["input_ids"] == full[:32]  # truncated, not an error


def test_tokenize_pads_to_max_length_and_keeps_token_type_ids(tmp_path):
    frame = pq.read_table(data_module.SAMPLE_FILES["test"]).to_pandas()
    tokenizer = train_wordpiece_tokenizer(frame["text"], vocab_size=500)
    data = DatasetDict(train=Dataset.from_dict({"text": ["short one", "x " * 500], "label": [0, 1]}))
    tokenized = tokenize_dataset(data, tokenizer, max_seq_length=16, pad_to_max_length=True)["train"]
    assert tokenized.column_names == ["labels", "input_ids", "token_type_ids", "attention_mask"]
    assert [len(ids) for ids in tokenized["input_ids"]] == [16, 16]
    assert tokenized["attention_mask"][0][:4] == [1, 1, 1, 1] and tokenized["input_ids"][0][-1] == 0


def test_tokenize_reuses_the_cache(tmp_path, imdb_frame, word_tokenizer):
    train_file = write(imdb_frame.groupby("label").head(100), tmp_path / "train.parquet")
    data = load(tmp_path, train_file=train_file, validation_split_percentage=50)
    first = tokenize_dataset(data, word_tokenizer, max_seq_length=64)
    second = tokenize_dataset(data, word_tokenizer, max_seq_length=64)
    for name in first:
        assert first[name]._fingerprint == second[name]._fingerprint
        assert first[name].cache_files and first[name].cache_files == second[name].cache_files
    other = tokenize_dataset(data, word_tokenizer, max_seq_length=32)
    assert other["train"]._fingerprint != first["train"]._fingerprint


def test_collator_pads_dynamically(word_tokenizer):
    features = [word_tokenizer("a good film"), word_tokenizer("a very very bad and boring film")]
    for feature, label in zip(features, (1, 0)):
        feature["labels"] = label
    collator = build_data_collator(word_tokenizer, pad_to_max_length=False, pad_to_multiple_of=8)
    assert isinstance(collator, DataCollatorWithPadding)
    batch = collator(features)
    assert batch["input_ids"].shape == (2, 8) and batch["labels"].tolist() == [1, 0]
    assert batch["input_ids"][0, 3:].tolist() == [0] * 5 and batch["attention_mask"][0].tolist() == [1] * 3 + [0] * 5
    assert build_data_collator(word_tokenizer, pad_to_max_length=True) is default_data_collator


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"dataset_name": "imdbb"},
            r"Unknown dataset_name 'imdbb'; the presets are imdb, yelp_review_full, ag_news, sst2 \(from the Hub\) "
            r"and imdb_sample, yelp5_sample \(shipped, offline\), or use train_file",
        ),
        ({"dataset_name": "yelp5_sample", "train_file": "a.csv"}, r"either dataset_name \('yelp5_sample'\) or train_file"),
        ({"train_file": "data.txt"}, r"train_file 'data.txt' has the unsupported extension '.txt'"),
        ({"dataset_name": "imdb", "train_file": "a.csv"}, r"either dataset_name \('imdb'\) or train_file"),
        ({"test_file": "a.csv"}, r"need a train_file"),
        ({"validation_split_percentage": 0}, r"validation_split_percentage must be between 0 and 100"),
        ({"validation_split_percentage": 100}, r"validation_split_percentage must be between 0 and 100"),
        ({"max_seq_length": 0}, r"max_seq_length must be a positive integer, got 0"),
        ({"max_train_samples": -5}, r"max_train_samples must be a positive integer, got -5"),
        ({"preprocessing_num_workers": 0}, r"preprocessing_num_workers must be at least 1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(LTHInputError, match=message):
        DataArguments(**kwargs)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(LTHInputError, match=f"train_file '{path}' does not exist"):
        load(tmp_path, train_file=str(path))


def test_corrupt_and_empty_files(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(LTHInputError, match=r"train_file '.*bad.parquet' could not be read as parquet \(ArrowInvalid"):
        load(tmp_path, train_file=str(bad))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LTHInputError, match=r"train_file '.*empty.csv' is empty"):
        load(tmp_path, train_file=str(empty))
    header_only = tmp_path / "header.csv"
    header_only.write_text("text,label\n")
    with pytest.raises(LTHInputError, match=r"train_file '.*header.csv' has no data rows"):
        load(tmp_path, train_file=str(header_only))
    no_rows = tmp_path / "none.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string()), "label": pa.array([], pa.int64())}), no_rows)
    with pytest.raises(LTHInputError, match=r"train_file '.*none.parquet' has no data rows"):
        load(tmp_path, train_file=str(no_rows))


def test_non_utf8_csv(tmp_path, imdb_frame):
    path = tmp_path / "latin1.csv"
    imdb_frame.head(5).assign(text=lambda f: f["text"] + " café").to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(LTHInputError, match=r"train_file '.*latin1.csv' is not valid UTF-8 \(it holds the byte 0xe9"):
        load(tmp_path, train_file=str(path))


def test_missing_columns(tmp_path, imdb_frame):
    path = write(imdb_frame.head(10), tmp_path / "train.csv")
    with pytest.raises(LTHInputError, match=r"has no text column 'review'; columns found: 'text', 'label'\. "
                                            r"Name the text column with --text_column\.$"):
        load(tmp_path, train_file=path, text_column="review")
    with pytest.raises(LTHInputError, match=r"train_file '.*train.csv'\) has no label column 'stars'.* "
                                            r"Name the label column with --label_column\.$"):
        load(tmp_path, train_file=path, label_column="stars")
    with pytest.raises(LTHInputError, match=r"text column 'label' .* holds Value\('int64'\) values, not text"):
        load(tmp_path, train_file=path, text_column="label", label_column="text")


def _frame(texts_labels) -> pd.DataFrame:
    return pd.DataFrame(texts_labels, columns=["text", "label"])


def test_labels_out_of_range(tmp_path, imdb_frame):
    train = write(imdb_frame.groupby("label").head(5), tmp_path / "train.jsonl")
    test = write(_frame([("great", 1), ("odd", 2)]), tmp_path / "test.jsonl")
    with pytest.raises(LTHInputError, match=r"label 2 of the test split \(test_file '.*test.jsonl'\) is outside 0..1"):
        load(tmp_path, train_file=train, test_file=test)
    negative = write(_frame([("a", 0), ("b", 1), ("c", -1), ("d", 1)]), tmp_path / "negative.jsonl")
    with pytest.raises(LTHInputError, match=r"label -1 of the train split .* is outside 0..1"):
        load(tmp_path, train_file=negative)


def test_missing_labels(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("text,label\ngood,1\nbad,\nfine,0\n")
    with pytest.raises(LTHInputError, match=r"train_file '.*nan.csv'\) has 1 missing \(null or NaN\) labels, the first at row 1"):
        load(tmp_path, train_file=str(path))


def test_mixed_label_types(tmp_path):
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_text('{"text": "good", "label": 1}\n{"text": "bad", "label": "neg"}\n')
    with pytest.raises(LTHInputError, match=r"mixed.jsonl'\) mixes label types \(int 1, str 'neg'\)"):
        load(tmp_path, train_file=str(jsonl))
    csv = tmp_path / "mixed.csv"
    csv.write_text("text,label\ngood,1\nbad,neg\n")
    with pytest.raises(LTHInputError, match=r"mixes integer and string labels \(e.g. 1 and 'neg'\)"):
        load(tmp_path, train_file=str(csv))
    train = write(_frame([("a", "pos"), ("b", "neg")] * 5), tmp_path / "train.csv")
    test = write(_frame([("a", 1), ("b", 0)]), tmp_path / "test.csv")
    with pytest.raises(LTHInputError, match=r"test split .* has int labels but the train split has str labels"):
        load(tmp_path, train_file=train, test_file=test)
    fractional = write(_frame([("a", 0.5), ("b", 1.0)] * 5), tmp_path / "float.csv")
    with pytest.raises(LTHInputError, match=r"non-integer label 0.5"):
        load(tmp_path, train_file=fractional)


def test_unknown_string_label_in_test(tmp_path):
    train = write(_frame([("a", "pos"), ("b", "neg")] * 5), tmp_path / "train.csv")
    test = write(_frame([("a", "pos"), ("b", "neutral")]), tmp_path / "test.csv")
    with pytest.raises(LTHInputError, match=r"label 'neutral' of the test split .* never occurs in the train split"):
        load(tmp_path, train_file=train, test_file=test)


def test_single_class(tmp_path, imdb_frame):
    path = write(imdb_frame.head(20), tmp_path / "train.parquet")  # all negative
    with pytest.raises(LTHInputError, match=r"train_file '.*train.parquet'\) has a single class \('0'\)"):
        load(tmp_path, train_file=path)
    with pytest.raises(LTHInputError, match=r"single class .* after splitting and max_train_samples"):
        load_text_classification_data(DataArguments(max_train_samples=1))


def test_all_texts_empty(tmp_path):
    path = write(_frame([("", 0), ("  ", 1), (None, 1)]), tmp_path / "train.jsonl")
    with pytest.raises(LTHInputError, match=r"All 3 texts of the train split \(train_file '.*train.jsonl'\) are empty or missing"):
        load(tmp_path, train_file=path)


def test_validation_too_small_to_stratify(tmp_path):
    path = write(_frame([("a", 0), ("b", 1), ("c", 1)]), tmp_path / "tiny.csv")
    with pytest.raises(LTHInputError, match=r"Cannot carve a stratified 30% validation split from the 3 rows"):
        load(tmp_path, train_file=path)


def test_hub_failure_is_one_clear_sentence(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'fancyzhx/ag_news' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(data_module, "load_dataset", offline)
    with pytest.raises(LTHInputError, match=r"Could not load 'fancyzhx/ag_news' from the Hugging Face Hub") as info:
        load_text_classification_data(DataArguments(dataset_name="ag_news"))
    assert isinstance(info.value.__cause__, ConnectionError)


def test_hub_labels_outside_the_preset(monkeypatch):
    fake = DatasetDict(
        train=Dataset.from_dict({"text": ["a", "b", "c"] * 4, "label": [0, 1, 7] * 4}),
        test=Dataset.from_dict({"text": ["a"], "label": [0]}),
    )
    monkeypatch.setattr(data_module, "load_dataset", lambda *args, **kwargs: fake)
    with pytest.raises(LTHInputError, match=r"label 7 of the train split of stanfordnlp/imdb is outside 0..1 \(the preset's"):
        load_text_classification_data(DataArguments(dataset_name="imdb"))

