#!/usr/bin/env python
"""Target 4: tokenising and encoding the full IMDb train split (25,000 reviews), once per experiment.

The data is `../shared/data/imdb` where present, else (and with `--quick`) the shipped 2,000-review sample
(see `common.data_file`).

Timed side by side, interleaved, medians of `--repeats`:

- `tokenize_dataset` (one batched `Dataset.map`, the path `run_lth.py` takes) with the datasets cache off,
  for the word-level tokenizer of the CNN/RNN presets (vocabulary 25,000) and the WordPiece tokenizer of BERT;
- the anchor: the same tokenizer called directly on the list of texts (the Rust batch encoder alone, no Arrow).

Also timed once: reading the Parquet file and training each tokenizer (both once per experiment).

Reuse: `examples/run_lth.py` runs twice on the shipped sample, with 1 pruning round and with 3 rounds plus both
controls, while `Dataset.map`, `DatasetDict.map` and the tokenizer's `__call__` are counted and the identity of
every round's `train_dataset` is recorded. Equal counts show that tokenising is not redone per round.

    python benchmarks/bench_data.py            # about a minute on 2 cores
    python benchmarks/bench_data.py --quick    # 2,000 reviews, no reuse run
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import datasets  # noqa: E402
from datasets import DatasetDict  # noqa: E402
from transformers import PreTrainedTokenizerBase  # noqa: E402

from hf_lth import LTHTrainer  # noqa: E402
from hf_lth.data.loading import DataArguments, load_text_classification_data, tokenize_dataset  # noqa: E402
from hf_lth.data.tokenization import train_word_tokenizer, train_wordpiece_tokenizer  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


class Counter:
    """Counts calls of `Dataset.map`, `DatasetDict.map` and tokenizer `__call__` (and rows tokenised)."""

    def __init__(self):
        self.counts = {"Dataset.map": 0, "DatasetDict.map": 0, "tokenizer calls": 0, "texts tokenised": 0}
        self.train_dataset_ids: list[int] = []
        self._saved = []

    def _wrap(self, owner, attr, key, rows=False):
        original = getattr(owner, attr)
        counts = self.counts

        def wrapper(*args, **kwargs):
            counts[key] += 1
            if rows:
                text = args[1] if len(args) > 1 else kwargs.get("text")
                counts["texts tokenised"] += len(text) if isinstance(text, (list, tuple)) else 1
            return original(*args, **kwargs)

        setattr(owner, attr, wrapper)
        self._saved.append((owner, attr, original))

    def __enter__(self):
        self._wrap(datasets.Dataset, "map", "Dataset.map")
        self._wrap(datasets.DatasetDict, "map", "DatasetDict.map")
        self._wrap(PreTrainedTokenizerBase, "__call__", "tokenizer calls", rows=True)
        original_train, ids = LTHTrainer.train, self.train_dataset_ids

        def train(trainer, *args, **kwargs):
            ids.append(id(trainer.train_dataset))
            return original_train(trainer, *args, **kwargs)

        LTHTrainer.train = train
        self._saved.append((LTHTrainer, "train", original_train))
        return self

    def __exit__(self, *exc):
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)


def run_lth_main():
    path = common.REPO_ROOT / "examples" / "run_lth.py"
    spec = importlib.util.spec_from_file_location("run_lth_for_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def reuse_check(workdir: Path) -> dict:
    main = run_lth_main()
    base = [
        "--model_name_or_path", "cnn", "--config_overrides", "embedding_dim=16,num_filters=8", "--vocab_size", "2000",
        "--max_train_samples", "64", "--max_eval_samples", "32", "--max_test_samples", "32", "--max_seq_length", "64",
        "--num_train_epochs", "1", "--disable_tqdm", "true", "--overwrite_cache", "true", "--log_level", "error",
    ]
    runs = {}
    for label, extra in (("1 round", ["--lth_rounds", "1"]),
                         ("3 rounds + 2 controls", ["--lth_rounds", "3", "--lth_controls", "random_pruning,random_reinit"])):
        with Counter() as counter:
            status = main(base + extra + ["--output_dir", str(workdir / label.replace(" ", "_"))])
        runs[label] = {**counter.counts, "trainings": len(counter.train_dataset_ids),
                       "distinct train_dataset objects": len(set(counter.train_dataset_ids)), "exit_status": status}
    return runs


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__, quick_help="2,000 reviews, one repetition, no run_lth reuse check")
    parser.add_argument("--max_seq_length", type=int, default=256)
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    repeats = args.repeats or (1 if args.quick else 3)
    rows_limit = 2000 if args.quick else None
    imdb_train, imdb_test = (common.data_file("imdb", split, sample=args.quick) for split in ("train", "test"))

    with tempfile.TemporaryDirectory() as cache:
        load_s, data = timed(load_text_classification_data, DataArguments(
            train_file=str(imdb_train), validation_file=str(imdb_test), max_train_samples=rows_limit,
            max_eval_samples=rows_limit, dataset_cache_dir=cache))
        train = data.raw["train"]
        texts = list(train["text"])
        word_train_s, word = timed(train_word_tokenizer, texts, vocab_size=25000)
        piece_train_s, piece = timed(train_wordpiece_tokenizer, texts, vocab_size=8000)
        only_train = DatasetDict({"train": train})
        times = {k: [] for k in ("word_map", "word_direct", "piece_map", "piece_direct")}
        for _ in range(repeats):
            for key, tok in (("word", word), ("piece", piece)):
                times[f"{key}_map"].append(timed(tokenize_dataset, only_train, tok, args.max_seq_length,
                                                 load_from_cache_file=False)[0])
                times[f"{key}_direct"].append(timed(tok, texts, truncation=True, max_length=args.max_seq_length)[0])
        encoded = tokenize_dataset(only_train, word, args.max_seq_length, load_from_cache_file=False)["train"]
        tokens = sum(len(ids) for ids in encoded["input_ids"])

    reuse = None
    if not args.quick:
        with tempfile.TemporaryDirectory() as workdir:
            reuse = reuse_check(Path(workdir))
    med = {k: common.median(v) for k, v in times.items()}
    n = len(train)
    rows = [
        common.Row(f"tokenise + encode IMDb train ({n:,} reviews, word-level 25k vocab, max {args.max_seq_length}) "
                   "with tokenize_dataset (Dataset.map, cache off)", med["word_map"], "s",
                   "tokenizer(texts) called directly", med["word_direct"], "<= 10 s",
                   med["word_map"] <= 10 if not args.quick else None,
                   note=f"{tokens / n:.0f} tokens a review after truncation; {n / med['word_map']:,.0f} reviews/s"),
        common.Row(f"the same with the BERT WordPiece tokenizer (8k vocab)", med["piece_map"], "s",
                   "tokenizer(texts) called directly", med["piece_direct"], "<= 10 s",
                   med["piece_map"] <= 10 if not args.quick else None),
        common.Row("once per experiment: read Parquet, carve/shuffle splits", load_s, "s"),
        common.Row("once per experiment: train the word-level tokenizer (25k vocab)", word_train_s, "s"),
        common.Row("once per experiment: train the WordPiece tokenizer (8k vocab)", piece_train_s, "s"),
    ]
    if reuse:
        one, many = reuse["1 round"], reuse["3 rounds + 2 controls"]
        rows.append(common.Row(
            "run_lth.py, 3 rounds + 2 controls: texts tokenised", many["texts tokenised"], "texts",
            "run_lth.py, 1 round", one["texts tokenised"], "ratio 1.0 (once per experiment)",
            many["texts tokenised"] == one["texts tokenised"],
            note=(f"Dataset.map + DatasetDict.map calls {many['Dataset.map'] + many['DatasetDict.map']} vs "
                  f"{one['Dataset.map'] + one['DatasetDict.map']}; {many['trainings']} trainings used "
                  f"{many['distinct train_dataset objects']} train_dataset object(s) "
                  f"(1-round run: {one['trainings']} trainings, {one['distinct train_dataset objects']})"),
        ))
    raw = {"times_s": times, "load_s": load_s, "train_word_tokenizer_s": word_train_s,
           "train_wordpiece_tokenizer_s": piece_train_s, "reviews": n, "tokens": tokens, "reuse": reuse}
    settings = {"command": common.command_line(), "repeats": repeats, "max_seq_length": args.max_seq_length,
                "quick": args.quick, "data": str(imdb_train.relative_to(common.REPO_ROOT.parent))}
    common.report("data" + ("_quick" if args.quick else ""), "Target 4: data preparation", rows, raw, args.out, settings)
    return rows


if __name__ == "__main__":
    main()
