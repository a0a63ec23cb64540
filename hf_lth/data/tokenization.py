"""Tokenizers trained from scratch with `tokenizers`, wrapped as `PreTrainedTokenizerFast`.

Two flavours:

- `train_word_tokenizer`: one id per word (WordLevel), for the CNN/RNN classifiers;
- `train_wordpiece_tokenizer`: BERT-style WordPiece with `[CLS] ... [SEP]`, for a from-scratch BERT.

Both remove IMDb's `<br />` tags, put `[PAD]` at id 0 and `[UNK]` at id 1, pad on the right and
round-trip through `save_pretrained` / `AutoTokenizer.from_pretrained`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
# `<br />`, `<br/>`, `<br>` in any case: IMDb's line breaks.
BR_TAG = Regex(r"(?i)<\s*br\s*/?\s*>")
_BATCH = 1000


def _batches(texts: Iterable[str], size: int = _BATCH) -> Iterator[list[str]]:
    """Yield lists of `size` texts, so that the Rust trainer gets few, large calls."""
    iterator = iter(texts)
    while batch := list(islice(iterator, size)):
        yield batch


def _check_vocab_size(vocab_size: int, minimum: int) -> None:
    if vocab_size < minimum:
        from ..errors import LTHInputError

        raise LTHInputError(f"vocab_size must be at least {minimum} (the special tokens), got {vocab_size}.")


def train_word_tokenizer(
    texts: Iterable[str], vocab_size: int = 25000, lowercase: bool = True, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """Train a word-level tokenizer: the `vocab_size - 2` most frequent words plus `[PAD]`=0, `[UNK]`=1.

    Text is NFKC-normalised and, by default, lower-cased; the `Whitespace` pre-tokenizer splits it
    into words and runs of punctuation (`don't` -> `don ' t`, `!!!` stays one token, which keeps some
    sentiment signal and is about 30% faster than `BertPreTokenizer`). It returns `input_ids` and
    `attention_mask` only (no `token_type_ids`).

    Args:
        texts: the training texts.
        vocab_size: the vocabulary's size, the two special tokens included.
        lowercase: lower-case the text before splitting it.
        model_max_length: the tokenizer's `model_max_length`.

    Returns:
        The trained tokenizer, padding on the right.

    Raises:
        LTHInputError: `vocab_size` is below 2.
    """
    _check_vocab_size(vocab_size, 2)
    steps = [normalizers.Replace(BR_TAG, " "), normalizers.NFKC()]
    if lowercase:
        steps.append(normalizers.Lowercase())
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=[PAD, UNK], show_progress=False)
    tokenizer.train_from_iterator(_batches(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=model_max_length,
        padding_side="right",
        model_input_names=["input_ids", "attention_mask"],
    )


def train_wordpiece_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = True, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """Train a BERT-style WordPiece tokenizer (`[PAD]`=0, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`).

    Encodings are `[CLS] text [SEP]` (pairs: `[CLS] a [SEP] b [SEP]` with token type 1 for `b`), so
    the result suits a from-scratch `BertForSequenceClassification`.

    Args:
        texts: the training texts.
        vocab_size: the vocabulary's size, the five special tokens included.
        lowercase: lower-case the text (BERT's normaliser).
        model_max_length: the tokenizer's `model_max_length`.

    Returns:
        The trained tokenizer, padding on the right.

    Raises:
        LTHInputError: `vocab_size` is below 5.
    """
    specials = [PAD, UNK, CLS, SEP, MASK]
    _check_vocab_size(vocab_size, len(specials))
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK, continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(BR_TAG, " "),
            normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=lowercase),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=specials, continuing_subword_prefix="##", show_progress=False
    )
    tokenizer.train_from_iterator(_batches(texts), trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS}:0 $A:0 {SEP}:0",
        pair=f"{CLS}:0 $A:0 {SEP}:0 $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        unk_token=UNK,
        cls_token=CLS,
        sep_token=SEP,
        mask_token=MASK,
        model_max_length=model_max_length,
        padding_side="right",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
