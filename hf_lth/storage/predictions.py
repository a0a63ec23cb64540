"""Per-example predictions of a round, kept beside its record so paired tests can run on any published result.

`lth_predictions.safetensors` holds, for each evaluated split (`eval`, `test`): `SPLIT.logits` (float16, one row
per example, in the dataset's order), `SPLIT.predicted` (the argmax) and `SPLIT.labels` (the gold labels, when the
split has them), the class ids in the smallest integer type that holds them. For 25,000 binary examples that is
about 150 KB. The file is written with the round (crash-safe like the rest of it) and is not staged for the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import LTHInputError
from .paths import PREDICTIONS_FILE  # noqa: F401  (its name in a round folder)


@dataclass
class SplitPredictions:
    """One split's predictions.

    Args:
        logits: `(examples, classes)` scores (float16 once saved).
        labels: the gold class ids, or None when the split has no labels.
        predicted: the predicted class of each example (default: the argmax of `logits`; a loaded file gives the
            one taken from the full-precision logits, which float16 rounding could tie).
    """

    logits: np.ndarray
    labels: np.ndarray | None = None
    predicted: np.ndarray | None = None

    def __post_init__(self):
        if self.predicted is None:
            self.predicted = self.logits.argmax(axis=-1)

    @property
    def correct(self) -> np.ndarray:
        """A bool per example: was it classified right (needs labels)."""
        if self.labels is None:
            raise LTHInputError("these predictions have no labels to compare with.")
        return self.predicted == self.labels

    @classmethod
    def from_output(cls, predictions: Any, label_ids: Any) -> SplitPredictions | None:
        """From `Trainer.predict`'s `predictions` (logits, or a tuple led by them) and `label_ids`; None when the
        outputs are no per-class scores."""
        if isinstance(predictions, (tuple, list)):
            predictions = predictions[0]
        logits = np.asarray(predictions)
        if logits.ndim != 2 or logits.shape[1] < 2:
            return None
        labels = None
        if label_ids is not None:
            labels = np.asarray(label_ids).reshape(-1)
        return cls(logits=logits, labels=labels)


def _class_dtype(num_classes: int) -> torch.dtype:
    return torch.uint8 if num_classes <= 255 else torch.int32


def save_predictions(path: str | Path, splits: dict[str, SplitPredictions]) -> None:
    """Write each split's logits (float16), predicted classes and labels to one safetensors file.

    Args:
        path: the file to write (inside the round folder being written).
        splits: split name (`eval`, `test`) -> its predictions.
    """
    tensors = {}
    for split, preds in splits.items():
        dtype = _class_dtype(preds.logits.shape[1])
        tensors[f"{split}.logits"] = torch.from_numpy(np.ascontiguousarray(preds.logits, dtype=np.float32)).half()
        tensors[f"{split}.predicted"] = torch.from_numpy(preds.predicted.astype(np.int64)).to(dtype)
        if preds.labels is not None:
            tensors[f"{split}.labels"] = torch.from_numpy(preds.labels.astype(np.int64)).to(dtype)
    save_file(tensors, str(path), metadata={"format": "hf_lth.predictions", "splits": ",".join(splits)})


def load_predictions(folder: str | Path) -> dict[str, SplitPredictions]:
    """The predictions kept in a round folder (or a predictions file).

    Args:
        folder: a finished round's folder, or the path of its `lth_predictions.safetensors`.

    Returns:
        split name -> `SplitPredictions` (logits as float32).

    Raises:
        LTHInputError: no predictions file (rounds written before hf_lth kept them have none).
    """
    path = Path(folder)
    if path.is_dir():
        path = path / PREDICTIONS_FILE
    if not path.is_file():
        raise LTHInputError(f"{path} does not exist: this round was written without per-example predictions "
                            "(rounds trained before hf_lth kept them have none); train it again to get them.")
    tensors = load_file(str(path))
    splits = sorted({name.split(".", 1)[0] for name in tensors})
    return {
        split: SplitPredictions(
            logits=tensors[f"{split}.logits"].float().numpy(),
            labels=tensors[f"{split}.labels"].long().numpy() if f"{split}.labels" in tensors else None,
            predicted=tensors[f"{split}.predicted"].long().numpy(),
        )
        for split in splits
    }
