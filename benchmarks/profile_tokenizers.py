#!/usr/bin/env python
"""Target 4, profile: where the tokenizers spend their time on IMDb reviews.

Each preset tokenizer (word-level for CNN/RNN, WordPiece for BERT), trained on 5,000 reviews, encodes `--texts`
reviews with `encode_batch` (no truncation, no padding), whole and with parts of its pipeline removed: the
difference is what that part costs. Medians of `--repeats`.

    python benchmarks/profile_tokenizers.py [--quick]
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from tokenizers import normalizers  # noqa: E402

from hf_lth.data.tokenization import BR_TAG, train_word_tokenizer, train_wordpiece_tokenizer  # noqa: E402


def main(argv=None) -> list[common.Row]:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--texts", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.texts or (500 if args.quick else 8000)
    repeats = args.repeats or (1 if args.quick else 3)
    texts = pq.read_table(common.SHARED_DATA / "imdb" / "train.parquet").column("text").to_pylist()
    sample = texts[:n]
    rows, raw = [], {}
    for kind, train, vocab in (("word-level", train_word_tokenizer, 25000), ("WordPiece", train_wordpiece_tokenizer, 8000)):
        base = train(texts[:5000], vocab_size=vocab).backend_tokenizer
        base.no_truncation()
        base.no_padding()
        variants = {"full pipeline": base}
        for label, norm in (("no normaliser", None),
                            ("normaliser: <br /> regex + lower-case only", normalizers.Sequence(
                                [normalizers.Replace(BR_TAG, " "), normalizers.Lowercase()]))):
            variants[label] = copy.deepcopy(base)
            variants[label].normalizer = norm
        variants["no pre-tokenizer (one token a review)"] = copy.deepcopy(base)
        variants["no pre-tokenizer (one token a review)"].pre_tokenizer = None
        times = {label: [] for label in variants}
        for _ in range(repeats):
            for label, tok in variants.items():
                start = time.perf_counter()
                tok.encode_batch(sample)
                times[label].append(time.perf_counter() - start)
        raw[kind] = times
        full = common.median(times["full pipeline"])
        for label in variants:
            rows.append(common.Row(f"{kind}, {n:,} reviews: {label}", common.median(times[label]), "s",
                                   "full pipeline", full))
    settings = {"command": common.command_line(), "texts": n, "repeats": repeats, "quick": args.quick}
    common.report("tokenizer_profile" + ("_quick" if args.quick else ""), "Target 4, profile: tokenizers", rows, raw,
                  args.out, settings)
    return rows


if __name__ == "__main__":
    main()
