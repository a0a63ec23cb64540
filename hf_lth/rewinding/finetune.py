"""`finetune`: keep the trained survivors and train on at a small constant learning rate (Renda et al.'s
fine-tuning baseline; Han et al., 2015).

Renda et al. fine-tune at the original schedule's final rate; under linear decay that rate is ~0 and nothing
trains, so hf_lth uses `lth_finetune_lr_fraction` (default 0.1) of the peak `learning_rate`, constant, no
warmup, for as many steps as round 0. Controls start as under `lr` (see `lr.py`).
"""

from __future__ import annotations

from .base import RoundPlan, register_rewind
from .lr import LearningRateRewind


@register_rewind
class FineTune(LearningRateRewind):
    name = "finetune"

    def plan(self, round0, args):
        rate = args.learning_rate * args.lth_finetune_lr_fraction
        return RoundPlan(overrides={"learning_rate": rate, "lr_scheduler_type": "constant", "warmup_steps": 0})
