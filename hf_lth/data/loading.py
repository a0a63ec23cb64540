"""Text-classification data: Hub presets, local files or the shipped samples -> train/validation/test.

`load_text_classification_data` returns a `DatasetDict` whose splits have exactly two columns,
`text` (str) and `label` (a `ClassLabel` id), plus the label names. `tokenize_dataset` turns it
into `input_ids`/`attention_mask`/`labels` with one batched, cached `Dataset.map`.

Where the splits come from:

- `dataset_name` a preset in `DATASET_PRESETS`: `load_dataset(<hub id>)`; needs the network once.
- `dataset_name` a sample in `SHIPPED_SAMPLES`, read offline from `hf_lth/sample_data`: `imdb_sample`
  (2,000 train / 1,000 test rows, balanced) or `yelp5_sample` (2,500 / 1,000 rows, 5 imbalanced classes).
- `train_file` (+ optional `validation_file`, `test_file`): csv, tsv, json, jsonl or parquet.
- none of these: the IMDb sample (`imdb_sample`).

When there is no validation split, `validation_split_percentage` of train is carved off, stratified
by label and seeded; `max_*_samples` then keep a seeded random subset of each split. A test split is
optional for local files (then the result has no `test` key); presets and the shipped samples always
have one (SST-2's Hub test split is unlabeled, so its validation split serves as test).

Labels: strings map to ids in sorted order; integers are kept, with `num_labels` = the preset's (a
shipped sample has the preset it is drawn from), or the largest train label + 1 for files. Rows whose
text is missing or blank are dropped with a warning; every other problem (a missing column, a bad
label, an unreadable file) raises `LTHInputError` with one sentence naming the file, split, column or value.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import ClassLabel, Dataset, DatasetDict, Value, load_dataset
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase, default_data_collator

from ..errors import LTHInputError

logger = logging.getLogger(__name__)

SAMPLE_DATA_DIR = Path(__file__).resolve().parents[1] / "sample_data"
# extension -> (datasets builder, builder options)
FILE_BUILDERS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
}
SPLITS = ("train", "validation", "test")
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class DatasetPreset:
    """A text-classification dataset on the Hugging Face Hub and how to read it."""

    hub_id: str
    config_name: str | None
    text_column: str
    label_column: str
    num_labels: int
    label_names: tuple[str, ...]
    test_split: str = "test"  # the Hub split used as our test split
    has_validation_split: bool = False  # False: carve validation from train


DATASET_PRESETS: dict[str, DatasetPreset] = {
    "imdb": DatasetPreset("stanfordnlp/imdb", None, "text", "label", 2, ("neg", "pos")),
    "yelp_review_full": DatasetPreset(
        "Yelp/yelp_review_full", None, "text", "label", 5, ("1 star", "2 star", "3 stars", "4 stars", "5 stars")
    ),
    "ag_news": DatasetPreset(
        "fancyzhx/ag_news", None, "text", "label", 4, ("World", "Sports", "Business", "Sci/Tech")
    ),
    # SST-2's Hub test split has no labels (all -1): its validation split serves as our test split,
    # and our validation split is carved from train.
    "sst2": DatasetPreset(
        "stanfordnlp/sst2", None, "sentence", "label", 2, ("negative", "positive"), test_split="validation"
    ),
}
_PRESET_BY_HUB_ID = {preset.hub_id.lower(): name for name, preset in DATASET_PRESETS.items()}


@dataclass(frozen=True)
class ShippedSample:
    """A small sample shipped in `hf_lth/sample_data` as `<stem>_train.parquet` and `<stem>_test.parquet`."""

    stem: str
    title: str  # for messages: "the shipped <title> sample"
    preset: str  # the preset it is drawn from: its columns and label names

    @property
    def files(self) -> dict[str, Path]:
        return {split: SAMPLE_DATA_DIR / f"{self.stem}_{split}.parquet" for split in ("train", "test")}


SHIPPED_SAMPLES: dict[str, ShippedSample] = {
    "imdb_sample": ShippedSample("imdb", "IMDb", "imdb"),
    "yelp5_sample": ShippedSample("yelp5", "Yelp-5", "yelp_review_full"),
}
DEFAULT_SAMPLE = "imdb_sample"  # what `dataset_name=None` with no files loads
SAMPLE_FILES = SHIPPED_SAMPLES[DEFAULT_SAMPLE].files


@dataclass
class DataArguments:
    """Which data to train and evaluate on, and how to prepare it (fields are CLI flags)."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": f"A dataset preset ({', '.join(DATASET_PRESETS)}) loaded from the Hub, or a sample shipped "
            f"with hf_lth and read offline ({', '.join(SHIPPED_SAMPLES)}). Leave empty, with no files, for "
            f"{DEFAULT_SAMPLE}."
        },
    )
    dataset_config_name: str | None = field(
        default=None, metadata={"help": "The Hub configuration of the preset, if it has several."}
    )
    train_file: str | None = field(
        default=None, metadata={"help": "A local training file: .csv, .tsv, .json, .jsonl or .parquet."}
    )
    validation_file: str | None = field(
        default=None, metadata={"help": "A local validation file; without it, validation is carved from train."}
    )
    test_file: str | None = field(default=None, metadata={"help": "A local test file (optional)."})
    text_column: str | None = field(
        default=None, metadata={"help": "The column holding the text (default: 'text', or the preset's)."}
    )
    label_column: str | None = field(
        default=None, metadata={"help": "The column holding the label (default: 'label', or the preset's)."}
    )
    validation_split_percentage: float = field(
        default=30.0,
        metadata={"help": "Percentage of train carved off (stratified, seeded) as validation when there is none."},
    )
    max_seq_length: int = field(default=256, metadata={"help": "Texts are truncated to this many tokens."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Keep at most this many (random) train rows, after splitting."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Keep at most this many (random) validation rows, after splitting."}
    )
    max_test_samples: int | None = field(
        default=None, metadata={"help": "Keep at most this many (random) test rows."}
    )
    pad_to_max_length: bool = field(
        default=False,
        metadata={"help": "Pad every text to max_seq_length (static shapes, for TPUs); else pad per batch."},
    )
    preprocessing_num_workers: int | None = field(
        default=None, metadata={"help": "Processes for tokenisation (default: one; the fast tokenizer is threaded)."}
    )
    overwrite_cache: bool = field(
        default=False, metadata={"help": "Tokenise again instead of reusing the datasets cache."}
    )
    # Not `cache_dir`: ModelArguments has that flag, and HfArgumentParser refuses duplicate flags.
    dataset_cache_dir: str | None = field(
        default=None, metadata={"help": "Where datasets stores downloaded and prepared data (default: its cache)."}
    )

    def __post_init__(self) -> None:
        if self.dataset_name is not None:
            self.dataset_name = _canonical_name(self.dataset_name)
            if self.train_file is not None:
                raise LTHInputError(
                    f"Give either dataset_name ('{self.dataset_name}') or train_file ('{self.train_file}'), not both."
                )
        if self.train_file is None and (self.validation_file or self.test_file):
            raise LTHInputError("validation_file and test_file need a train_file as well.")
        for arg in ("train_file", "validation_file", "test_file"):
            if getattr(self, arg) is not None:
                _builder_for(arg, getattr(self, arg))
        if not 0 < self.validation_split_percentage < 100:
            raise LTHInputError(
                "validation_split_percentage must be between 0 and 100 (exclusive), "
                f"got {self.validation_split_percentage}."
            )
        for arg in ("max_seq_length", "max_train_samples", "max_eval_samples", "max_test_samples"):
            value = getattr(self, arg)
            if value is not None and value <= 0:
                raise LTHInputError(f"{arg} must be a positive integer, got {value}.")
        if self.preprocessing_num_workers is not None and self.preprocessing_num_workers < 1:
            raise LTHInputError(f"preprocessing_num_workers must be at least 1, got {self.preprocessing_num_workers}.")


@dataclass
class TextClassificationData:
    """Splits `train`, `validation` and (usually) `test`, each with columns `text` and `label` (int id).

    Args:
        raw: the splits, by name.
        num_labels: how many classes there are.
        id2label: class id -> label name.
        label2id: label name -> class id.
    """

    raw: DatasetDict
    num_labels: int
    id2label: dict[int, str]
    label2id: dict[str, int]


def load_text_classification_data(data_args: DataArguments, seed: int = 42) -> TextClassificationData:
    """Load, clean, label-encode and split the data that `data_args` describes (see the module docstring).

    Args:
        data_args: which data to load and how to split it.
        seed: seeds the validation split, the `max_*_samples` subsets and the shuffle of train.

    Returns:
        The splits and their label names.

    Raises:
        LTHInputError: a missing column, a bad label, an unreadable file, or a single class left in train.
    """
    splits, where, (text_column, label_column), label_names = _load_splits(data_args)
    splits = {
        name: _drop_empty_texts(_select_columns(ds, text_column, label_column, where[name]), where[name])
        for name, ds in splits.items()
    }
    splits, label_names = _encode_labels(splits, where, label_names)

    if "validation" in splits:
        splits["train"] = splits["train"].shuffle(seed=seed)
    else:
        percentage = data_args.validation_split_percentage
        splits["train"], splits["validation"] = _carve_validation(splits["train"], percentage, seed, where["train"])
    limits = {
        "train": data_args.max_train_samples,
        "validation": data_args.max_eval_samples,
        "test": data_args.max_test_samples,
    }
    splits = {name: _limit(ds, limits[name], seed, shuffle=name != "train") for name, ds in splits.items()}
    present = set(splits["train"].unique("label"))
    if len(present) < 2:
        raise LTHInputError(
            f"The {where['train']} has a single class ('{label_names[present.pop()]}') after splitting and "
            "max_train_samples; a classifier needs at least two."
        )

    raw = DatasetDict({name: splits[name] for name in SPLITS if name in splits})
    id2label = dict(enumerate(label_names))
    return TextClassificationData(raw, len(label_names), id2label, {name: i for i, name in id2label.items()})


def tokenize_dataset(
    data: TextClassificationData | DatasetDict,
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    pad_to_max_length: bool = False,
    num_proc: int | None = None,
    load_from_cache_file: bool = True,
) -> DatasetDict:
    """Tokenise every split with one batched `map`: columns `input_ids`, `attention_mask`
    (`token_type_ids` if the tokenizer makes them) and `labels`; long texts are truncated.

    The map is deterministic, so for file-backed data a second call reuses the datasets cache.

    Args:
        data: the splits, from `load_text_classification_data` or any `DatasetDict` with a `text` and a `label`
            column.
        tokenizer: the tokenizer to encode with.
        max_seq_length: longer texts are truncated to this many tokens (at most the tokenizer's
            `model_max_length`).
        pad_to_max_length: pad every row to `max_seq_length` (needs a pad token); else leave padding to the
            data collator.
        num_proc: processes for `Dataset.map` (None: this one).
        load_from_cache_file: reuse a cached result of the same map.

    Returns:
        The tokenised splits.
    """
    dataset = data.raw if isinstance(data, TextClassificationData) else data
    if max_seq_length > tokenizer.model_max_length:
        logger.warning(
            "max_seq_length %d is longer than the tokenizer's model_max_length %d; using %d.",
            max_seq_length,
            tokenizer.model_max_length,
            tokenizer.model_max_length,
        )
        max_seq_length = tokenizer.model_max_length
    if pad_to_max_length and tokenizer.pad_token is None:
        raise LTHInputError("pad_to_max_length needs a tokenizer with a pad token; set tokenizer.pad_token first.")
    tokenized = dataset.map(
        _encode,
        batched=True,
        batch_size=2000,
        input_columns="text",
        remove_columns="text",
        fn_kwargs={
            "tokenizer": tokenizer,
            "max_length": max_seq_length,
            "padding": "max_length" if pad_to_max_length else False,
        },
        num_proc=num_proc,
        load_from_cache_file=load_from_cache_file,
        desc="Tokenising",
    )
    return tokenized.rename_column("label", "labels")


def build_data_collator(
    tokenizer: PreTrainedTokenizerBase, pad_to_max_length: bool, pad_to_multiple_of: int | None = None
):
    """`default_data_collator` when every row is already padded to max length, else dynamic padding.

    Args:
        tokenizer: the tokenizer that pads (it needs a pad token for dynamic padding).
        pad_to_max_length: whether `tokenize_dataset` already padded every row.
        pad_to_multiple_of: with dynamic padding, round each batch's length up to a multiple of this.

    Returns:
        collator (Callable): `default_data_collator`, or a `DataCollatorWithPadding`, to give the Trainer.
    """
    if pad_to_max_length:
        return default_data_collator
    if tokenizer.pad_token is None:
        raise LTHInputError("Dynamic padding needs a tokenizer with a pad token; set tokenizer.pad_token first.")
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)


# --- loading ---------------------------------------------------------------------------------------


def _load_splits(data_args: DataArguments):
    """(splits, where each split comes from, (text column, label column), label names or None)."""
    if data_args.train_file is not None:
        splits, where = _load_files(data_args)
        columns = (data_args.text_column or "text", data_args.label_column or "label")
        return splits, where, columns, None
    name = data_args.dataset_name or DEFAULT_SAMPLE
    if name in SHIPPED_SAMPLES:
        sample = SHIPPED_SAMPLES[name]
        preset = DATASET_PRESETS[sample.preset]
        splits, where = _load_sample(sample, data_args)
    else:
        preset = DATASET_PRESETS[name]
        splits, where = _load_hub(preset, data_args)
    columns = (data_args.text_column or preset.text_column, data_args.label_column or preset.label_column)
    return splits, where, columns, preset.label_names


def _canonical_name(name: str) -> str:
    """A preset or shipped sample name (Hub ids map to their preset, case-insensitive), or LTHInputError."""
    key = name.strip().lower()
    key = _PRESET_BY_HUB_ID.get(key, key)
    if key not in DATASET_PRESETS and key not in SHIPPED_SAMPLES:
        raise LTHInputError(
            f"Unknown dataset_name '{name}'; the presets are {', '.join(DATASET_PRESETS)} (from the Hub) and "
            f"{', '.join(SHIPPED_SAMPLES)} (shipped, offline), or use train_file for other data."
        )
    return key


def _builder_for(arg: str, path: str) -> tuple[str, dict]:
    suffix = Path(path).suffix.lower()
    if suffix not in FILE_BUILDERS:
        raise LTHInputError(
            f"{arg} '{path}' has the unsupported extension '{suffix}'; use one of {', '.join(FILE_BUILDERS)}."
        )
    return FILE_BUILDERS[suffix]


def _load_files(data_args: DataArguments) -> tuple[dict[str, Dataset], dict[str, str]]:
    splits, where = {}, {}
    for split in SPLITS:
        arg = f"{split}_file"
        path = getattr(data_args, arg)
        if path is None:
            continue
        where[split] = f"{split} split ({arg} '{path}')"
        splits[split] = _read_file(arg, path, data_args.dataset_cache_dir)
    return splits, where


def _read_file(arg: str, path: str, cache_dir: str | None) -> Dataset:
    builder, options = _builder_for(arg, path)
    file = Path(path)
    if not file.is_file():
        raise LTHInputError(f"{arg} '{path}' does not exist or is not a file.")
    if file.stat().st_size == 0:
        raise LTHInputError(f"{arg} '{path}' is empty.")
    try:
        return load_dataset(builder, data_files=str(file), split="train", cache_dir=cache_dir, **options)
    except Exception as error:  # datasets wraps reader errors; report the root cause in one line
        cause = _root_cause(error)
        if isinstance(cause, UnicodeDecodeError):
            reason = f"is not valid UTF-8 (it holds the byte 0x{cause.object[cause.start]:02x}); save it as UTF-8"
        elif "corresponds to no data" in str(cause) or _is_empty_parquet(file):
            reason = "has no data rows"
        else:
            first_line = next(iter(str(cause).splitlines()), "")
            reason = f"could not be read as {builder} ({type(cause).__name__}: {first_line})"
        raise LTHInputError(f"{arg} '{path}' {reason}.") from error


def _is_empty_parquet(file: Path) -> bool:
    """datasets 5 fails on a Parquet file with zero rows with an obscure ArrowInvalid ('BatchSize ... 0')."""
    try:
        return file.suffix.lower() == ".parquet" and pq.read_metadata(file).num_rows == 0
    except Exception:
        return False


def _root_cause(error: BaseException) -> BaseException:
    seen = {id(error)}
    while (nxt := error.__cause__ or error.__context__) is not None and id(nxt) not in seen:
        if isinstance(error, UnicodeDecodeError):
            break
        seen.add(id(nxt))
        error = nxt
    return error


def _load_sample(sample: ShippedSample, data_args: DataArguments) -> tuple[dict[str, Dataset], dict[str, str]]:
    data_files = {split: str(path) for split, path in sample.files.items()}
    raw = load_dataset("parquet", data_files=data_files, cache_dir=data_args.dataset_cache_dir)
    return dict(raw), {split: f"{split} split of the shipped {sample.title} sample" for split in raw}


def _load_hub(preset: DatasetPreset, data_args: DataArguments) -> tuple[dict[str, Dataset], dict[str, str]]:
    config = data_args.dataset_config_name or preset.config_name
    try:
        raw = load_dataset(preset.hub_id, config, cache_dir=data_args.dataset_cache_dir)
    except Exception as error:
        raise LTHInputError(
            f"Could not load '{preset.hub_id}' from the Hugging Face Hub ({type(error).__name__}); "
            "without network access, pass local files with train_file/test_file instead."
        ) from error
    splits = {"train": raw["train"], "test": raw[preset.test_split]}
    where = {
        "train": f"train split of {preset.hub_id}",
        "test": f"{preset.test_split} split of {preset.hub_id} (our test split)",
    }
    if preset.has_validation_split:
        splits["validation"], where["validation"] = raw["validation"], f"validation split of {preset.hub_id}"
    return splits, where


# --- cleaning and labels ---------------------------------------------------------------------------


def _select_columns(ds: Dataset, text_column: str, label_column: str, where: str) -> Dataset:
    """The text and label columns of `ds`, renamed `text` and `label`; an error names the flag that picks a column."""
    for kind, column in (("text", text_column), ("label", label_column)):
        if column not in ds.column_names:
            found = ", ".join(f"'{name}'" for name in ds.column_names)
            raise LTHInputError(f"The {where} has no {kind} column '{column}'; columns found: {found}. "
                                f"Name the {kind} column with --{kind}_column.")
    if text_column == label_column:
        raise LTHInputError(f"The text and label columns must differ, both are '{text_column}'.")
    text_feature = ds.features[text_column]
    if not (isinstance(text_feature, Value) and text_feature.dtype in ("string", "large_string")):
        raise LTHInputError(f"The text column '{text_column}' of the {where} holds {text_feature} values, not text.")
    ds = ds.select_columns([text_column, label_column])
    return ds.rename_columns({text_column: "text", label_column: "label"})


def _drop_empty_texts(ds: Dataset, where: str) -> Dataset:
    if len(ds) == 0:
        raise LTHInputError(f"The {where} has no rows.")
    texts = ds.with_format("arrow")["text"]
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(texts), ""), True).to_numpy(zero_copy_only=False)
    count = int(empty.sum())
    if count == 0:
        return ds
    if count == len(ds):
        raise LTHInputError(f"All {count} texts of the {where} are empty or missing (first at row 0).")
    first = int(np.flatnonzero(empty)[0])
    logger.warning(
        "Dropping %d rows with an empty or missing text from the %s (first at row %d).", count, where, first
    )
    return ds.select(np.flatnonzero(~empty))


def _label_values(ds: Dataset, where: str) -> tuple[str, list]:
    """('int' | 'str', the labels as Python values), after checking for missing and mixed labels."""
    feature = ds.features["label"]
    column = ds.with_format("arrow")["label"]
    missing = pc.is_null(column, nan_is_null=True).to_numpy(zero_copy_only=False)
    if missing.any():
        raise LTHInputError(
            f"The {where} has {int(missing.sum())} missing (null or NaN) labels, "
            f"the first at row {int(np.flatnonzero(missing)[0])}."
        )
    if isinstance(feature, ClassLabel) or (
        isinstance(feature, Value) and feature.dtype.startswith(("int", "uint", "bool"))
    ):
        return "int", [int(v) for v in column.to_pylist()]
    if isinstance(feature, Value) and feature.dtype.startswith("float"):
        values = column.to_pylist()
        fractional = next((v for v in values if not float(v).is_integer()), None)
        if fractional is not None:
            raise LTHInputError(
                f"The {where} has the non-integer label {fractional}; labels must be integers or strings."
            )
        return "int", [int(v) for v in values]
    if isinstance(feature, Value) and feature.dtype in ("string", "large_string"):
        values = column.to_pylist()
        numeric = [_INTEGER.fullmatch(v) is not None for v in values]
        if all(numeric):  # e.g. JSON {"label": "3"}: integer ids written as strings
            return "int", [int(v) for v in values]
        if any(numeric):
            example_int, example_str = values[numeric.index(True)], values[numeric.index(False)]
            raise LTHInputError(
                f"The {where} mixes integer and string labels (e.g. {example_int} and '{example_str}'); use one kind."
            )
        return "str", values
    if type(feature).__name__ == "Json":  # datasets 5 reads mixed JSON values (1 and "pos") as Json
        values = ds["label"]
        kinds = {type(v).__name__: v for v in values}
        raise LTHInputError(
            f"The {where} mixes label types ({', '.join(f'{k} {v!r}' for k, v in kinds.items())}); use one kind."
        )
    raise LTHInputError(f"The {where} has labels of type {feature}; labels must be integers or strings.")


def _encode_labels(
    splits: dict[str, Dataset], where: dict[str, str], label_names: tuple[str, ...] | None
) -> tuple[dict[str, Dataset], tuple[str, ...]]:
    """Cast every split's `label` to one `ClassLabel`: strings map to ids in sorted order."""
    values = {name: _label_values(ds, where[name]) for name, ds in splits.items()}
    kind = values["train"][0]
    for name, (other, _) in values.items():
        if other != kind:
            raise LTHInputError(f"The {where[name]} has {other} labels but the train split has {kind} labels.")
    train_labels = values["train"][1]
    if kind == "str":
        label_names = tuple(sorted(set(train_labels)))
        known = set(label_names)
        for name, (_, labels) in values.items():
            unknown = next((v for v in labels if v not in known), None)
            if unknown is not None:
                raise LTHInputError(f"The label '{unknown}' of the {where[name]} never occurs in the train split.")
    else:
        if label_names is None:
            label_names = tuple(str(i) for i in range(max(train_labels) + 1))
            bound = "the largest train label + 1"
        else:
            bound = "the preset's number of labels"
        for name, (_, labels) in values.items():
            bad = next((v for v in labels if not 0 <= v < len(label_names)), None)
            if bad is not None:
                raise LTHInputError(
                    f"The label {bad} of the {where[name]} is outside 0..{len(label_names) - 1} "
                    f"({bound} = {len(label_names)})."
                )
        unused = sorted(set(range(len(label_names))) - set(train_labels))
        if unused:
            logger.warning(
                "%d of the %d label ids never occur in the %s (first: %s).",
                len(unused), len(label_names), where["train"], unused[:10],
            )
    if len(set(train_labels)) < 2:
        raise LTHInputError(
            f"The {where['train']} has a single class ('{train_labels[0]}'); a classifier needs at least two."
        )
    feature = ClassLabel(names=list(label_names))
    encoded = {}
    for name, ds in splits.items():
        current = ds.features["label"]
        if kind == "int" and isinstance(current, Value) and not current.dtype.startswith(("int", "uint")):
            ds = ds.cast_column("label", Value("int64"))  # float, bool or numeric strings
        encoded[name] = ds.cast_column("label", feature)
    return encoded, label_names


# --- splitting -------------------------------------------------------------------------------------


def _carve_validation(train: Dataset, percentage: float, seed: int, where: str) -> tuple[Dataset, Dataset]:
    counts = np.bincount(train.with_format("numpy")["label"])
    counts = counts[counts > 0]
    n_validation = int(np.ceil(len(train) * percentage / 100))
    if counts.min() < 2 or n_validation < len(counts) or len(train) - n_validation < len(counts):
        raise LTHInputError(
            f"Cannot carve a stratified {percentage:g}% validation split from the {len(train)} rows of the {where} "
            f"({len(counts)} classes, the smallest with {counts.min()} rows); add rows or give a validation_file."
        )
    try:
        parts = train.train_test_split(test_size=percentage / 100, stratify_by_column="label", seed=seed)
    except ValueError as error:
        raise LTHInputError(f"Cannot carve a stratified validation split from the {where}: {error}") from error
    return parts["train"], parts["test"]


def _limit(ds: Dataset, max_samples: int | None, seed: int, shuffle: bool) -> Dataset:
    if max_samples is None or max_samples >= len(ds):
        return ds
    if shuffle:
        ds = ds.shuffle(seed=seed)
    return ds.select(range(max_samples))


def _encode(texts: list[str], tokenizer: PreTrainedTokenizerBase, max_length: int, padding: bool | str) -> dict:
    return tokenizer(texts, truncation=True, max_length=max_length, padding=padding)
