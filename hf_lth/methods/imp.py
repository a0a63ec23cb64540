"""`imp`: iterative magnitude pruning (Frankle & Carbin, 2019): each round prunes `lth_prune_rate` (of the survivors,
or of the original weights on the linear schedule) from the weights the previous round ended with."""

from __future__ import annotations

import logging
import math

from .base import LineMethod, register_method

logger = logging.getLogger(__name__)


@register_method
class IMP(LineMethod):
    name = "imp"
    restorable = True
    help = "prune between rounds (iterative; --lth_method one_shot for one round)"

    def num_rounds(self) -> int:
        """Enough rounds to reach `lth_target_sparsity` on the schedule, else `lth_rounds`."""
        args = self.args
        if args.lth_target_sparsity is None:
            return args.lth_rounds
        schedule, rate = args.schedule_and_rate()
        if schedule == "linear":
            return math.ceil(args.lth_target_sparsity / rate - 1e-9)
        return math.ceil(math.log(1.0 - args.lth_target_sparsity) / math.log(1.0 - rate) - 1e-9)

    @classmethod
    def identity(cls, settings):
        settings.pop("lth_target_sparsity", None)  # it only sets the number of rounds, which may grow
        settings.pop("lth_method", None)  # as before there was a choice: older folders match

    def next_mask(self, engine, round):
        args = self.args
        mask = engine.pruner(engine.prunable_weights(), engine.mask, self.prune_fraction(round.index),
                             args.seed + round.index)
        if mask.num_kept() == engine.mask.num_kept():
            logger.warning("Round %d prunes nothing (lth_granularity %s, already %.1f%% sparse).", round.index,
                           args.lth_granularity, 100 * engine.mask.sparsity())
        return mask
