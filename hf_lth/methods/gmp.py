"""`gmp`: gradual magnitude pruning (Zhu & Gupta, 2017): one round from the rewind point that prunes while it trains,
up to `lth_target_sparsity` on the cubic schedule (`hf_lth.pruning.gradual`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LTHInputError
from .base import LineMethod, register_method


@dataclass
class GMPSettings:
    """The flags of gradual magnitude pruning."""

    lth_gmp_start_step: int = field(default=0, metadata={"help": "With gmp: the step of the first pruning."})
    lth_gmp_end_step: int | None = field(
        default=None,
        metadata={"help": "With gmp: the step at which the target sparsity is reached (None: 3/4 of the round)."},
    )
    lth_gmp_frequency: int = field(default=10, metadata={"help": "With gmp: optimizer steps between prunings."})


@register_method
class GMP(LineMethod):
    name = "gmp"
    settings_class = GMPSettings
    needs_target_sparsity = True
    help = ("one round from the rewind point that prunes while it trains, up to lth_target_sparsity on Zhu & "
            "Gupta's cubic schedule")

    @classmethod
    def check_settings(cls, args):
        if args.lth_gmp_frequency < 1:
            raise LTHInputError(f"lth_gmp_frequency must be at least 1, got {args.lth_gmp_frequency}.")
        if args.lth_gmp_start_step < 0 or (args.lth_gmp_end_step is not None
                                           and args.lth_gmp_end_step <= args.lth_gmp_start_step):
            raise LTHInputError(f"lth_gmp_end_step ({args.lth_gmp_end_step}) must come after lth_gmp_start_step "
                                f"({args.lth_gmp_start_step}) >= 0.")

    def span(self, max_steps: int) -> tuple[int, int]:
        """The first and last pruning steps of a round of `max_steps` steps (the last: 3/4 of it by default)."""
        start, end = self.settings.lth_gmp_start_step, self.settings.lth_gmp_end_step
        if end is None:
            end = max(start + 1, (3 * max_steps) // 4)
        if end > max_steps:
            raise LTHInputError(f"lth_gmp_end_step {end} is beyond the round, which takes {max_steps} steps.")
        return start, end

    def next_mask(self, engine, round):
        from ..pruning.gradual import GradualPruningCallback

        start, end = self.span(engine.round_steps(round.plan))
        callback = GradualPruningCallback(engine.pruner, self.args.lth_target_sparsity, start, end,
                                          self.settings.lth_gmp_frequency, self.args.seed + round.index,
                                          engine.masker, initial=round.sparsity)
        round.callbacks.append(callback)
        round.record["gmp_steps"] = callback.steps
        return round.mask  # the mask it starts with: pruned while the round trains

    def resumed_mask(self, checkpoint):
        from ..pruning.gradual import saved_mask

        return saved_mask(checkpoint)
