"""`lr`: learning-rate rewinding (Renda et al., 2020): keep the trained survivors, replay the whole schedule.

Round `r` starts from round `r-1`'s trained weights under the new mask. Its random-pruning control starts
from round 0's trained (dense) weights instead: round `r-1`'s weights are already zero wherever IMP pruned
them, so a random mask over them would keep weights that start at zero, and the control would measure that
rather than the mask. From the dense trained weights, the control is "prune the trained network at random to
the ticket's per-tensor sparsity, then retrain with the same schedule".
"""

from __future__ import annotations

from .base import Rewind, register_rewind


@register_rewind
class LearningRateRewind(Rewind):
    name = "lr"
    controls_refused = (
        "its paper's random-pruning control (Renda et al. 2020) prunes at random to the same sparsity over the same "
        "number of lr-rewinding rounds, which hf_lth does not implement (one retraining from the dense weights is "
        "not that control); run the controls on an init or step:K line of the same trunk"
    )

    @classmethod
    def from_spec(cls, spec: str):
        return cls() if spec == cls.name else None

    def start_state(self, folder, index):
        return folder.read_weights(index - 1)

    def control_start_state(self, folder, index):
        return folder.read_weights(0)
