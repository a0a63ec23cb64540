"""Per-example predictions: every round and control keeps them, they reproduce the recorded metrics, and they
stay out of a staged ticket."""

import numpy as np
import pytest

from hf_lth.errors import LTHInputError
from hf_lth.hub.tickets import stage_ticket
from hf_lth.storage.predictions import PREDICTIONS_FILE, SplitPredictions, load_predictions, save_predictions

from hf_lth.engine.metrics import compute_metrics
from hf_lth.engine.trainer import LTHTrainer
from hf_lth.settings.arguments import LTHArguments

from helpers.tiny import make_trainer, tiny_bert


@pytest.mark.slow
def test_every_round_and_control_keeps_predictions_that_give_its_metrics(tmp_path, dataset):
    trainer = make_trainer(tmp_path, dataset, lth_controls="random_pruning", lth_control_rounds="2")
    results = trainer.find_tickets()
    out = tmp_path / "run"
    folders = [(out / f"round_{i:02d}", r) for i, r in enumerate(results["rounds"])]
    folders.append((out / "controls" / "random_pruning" / "round_02", results["controls"]["random_pruning"][0]))
    for folder, record in folders:
        predictions = load_predictions(folder)
        assert set(predictions) == {"eval", "test"}
        for split in ("eval", "test"):
            preds = predictions[split]
            assert preds.logits.shape == (len(dataset), 2)
            assert np.array_equal(preds.labels, np.asarray(dataset["labels"]))
            assert preds.correct.mean() == pytest.approx(record[f"{split}_accuracy"])
        assert (folder / PREDICTIONS_FILE).stat().st_size < 4_000
    staged = stage_ticket(out, tmp_path / "staged")
    assert not (staged / PREDICTIONS_FILE).exists()


def test_predictions_round_trip_in_compact_dtypes(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1000, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 1000)
    save_predictions(tmp_path / "p.safetensors", {"test": SplitPredictions(logits, labels),
                                                  "eval": SplitPredictions(logits[:10], None)})
    loaded = load_predictions(tmp_path / "p.safetensors")
    assert np.array_equal(loaded["test"].labels, labels)
    assert np.array_equal(loaded["test"].predicted, logits.argmax(-1))
    assert np.allclose(loaded["test"].logits, logits, atol=1e-2)
    assert loaded["eval"].labels is None
    with pytest.raises(LTHInputError, match="no labels"):
        loaded["eval"].correct
    assert (tmp_path / "p.safetensors").stat().st_size < 1000 * (5 * 2 + 2) + 1000


def test_a_round_without_predictions_is_named(tmp_path):
    with pytest.raises(LTHInputError, match="without per-example predictions"):
        load_predictions(tmp_path)


def test_scores_that_are_not_per_class_are_not_kept():
    assert SplitPredictions.from_output(np.zeros((4, 1)), None) is None
    assert SplitPredictions.from_output((np.zeros((4, 3)), np.zeros((4, 2, 2))), [0, 1, 2, 0]).logits.shape == (4, 3)


def test_predictions_of_a_length_sorted_evaluation_come_back_in_the_datasets_order(tmp_path, dataset):
    import torch
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    rows = dataset.to_dict()
    lengths = [3 + (7 * i) % 8 for i in range(len(rows["labels"]))]  # 3..10 tokens, unsorted
    ragged = Dataset.from_dict({"input_ids": [ids[:n] for ids, n in zip(rows["input_ids"], lengths)],
                                "attention_mask": [[1] * n for n in lengths], "labels": rows["labels"]})
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[PAD]": 0}, "[PAD]")),
                                        pad_token="[PAD]")
    args = LTHArguments(output_dir=str(tmp_path / "run"), lth_rounds=0, max_steps=1, per_device_eval_batch_size=8,
                        disable_tqdm=True, dataloader_pin_memory=False)
    trainer = LTHTrainer(model=tiny_bert(), args=args, train_dataset=ragged, eval_dataset=ragged, test_dataset=ragged,
                         data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    trainer.find_tickets()
    predictions = load_predictions(tmp_path / "run" / "round_00")["test"]
    assert np.array_equal(predictions.labels, np.asarray(rows["labels"]))
    model = trainer.model.eval()
    with torch.no_grad():
        one_by_one = [model(input_ids=torch.tensor([ids])).logits[0].numpy() for ids in ragged["input_ids"]]
    assert np.allclose(predictions.logits, np.stack(one_by_one), atol=2e-2)
