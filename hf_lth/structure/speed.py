"""Inference speed, measured with `torch.utils.benchmark` (warm-up, several timed runs, the median)."""

from __future__ import annotations

import torch
from torch.utils.benchmark import Timer


@torch.inference_mode()
def examples_per_second(model: torch.nn.Module, input_ids: torch.Tensor, min_run_time: float = 1.0,
                        threads: int | None = None) -> float:
    """Forward passes of `model` on the batch `input_ids` (no gradients), as examples per second (the median run)."""
    model.eval()
    attention_mask = torch.ones_like(input_ids)
    timer = Timer("model(input_ids=ids, attention_mask=mask)",
                  globals={"model": model, "ids": input_ids, "mask": attention_mask},
                  num_threads=threads or torch.get_num_threads())
    return input_ids.shape[0] / timer.blocked_autorange(min_run_time=min_run_time).median
