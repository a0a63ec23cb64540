"""`early_bird`: early-bird tickets (You et al., 2020): a dense phase replaying round 0 from the line's rewind point,
stopped once the magnitude mask at `lth_target_sparsity` stops changing (`hf_lth.pruning.early_bird`), then one round
under that mask."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LTHInputError
from .base import LineMethod, register_method


@dataclass
class EarlyBirdSettings:
    """The flags of the early-bird search."""

    lth_eb_interval: int = field(
        default=10, metadata={"help": "With early_bird: optimizer steps between two masks of the dense phase."}
    )
    lth_eb_epsilon: float = field(
        default=0.1,
        metadata={"help": "With early_bird: stop when the masks of the last lth_eb_window checks differ, pairwise, in "
                          "less than this fraction of the prunable weights (You et al.: 0.1)."},
    )
    lth_eb_window: int = field(
        default=5,
        metadata={"help": "With early_bird: how many recent masks must agree (You et al.: 5; 2: consecutive)."},
    )


@register_method
class EarlyBird(LineMethod):
    name = "early_bird"
    settings_class = EarlyBirdSettings
    needs_target_sparsity = True
    help = ("a dense phase from the rewind point, stopped when the magnitude mask at lth_target_sparsity stops "
            "changing (You et al., 2020), then one round under that mask")

    @classmethod
    def check_settings(cls, args):
        if args.lth_eb_interval < 1:
            raise LTHInputError(f"lth_eb_interval must be at least 1, got {args.lth_eb_interval}.")
        if not 0.0 < args.lth_eb_epsilon < 1.0 or args.lth_eb_window < 2:
            raise LTHInputError(f"lth_eb_epsilon must be in (0, 1) and lth_eb_window at least 2, got "
                                f"{args.lth_eb_epsilon} and {args.lth_eb_window}.")

    def next_mask(self, engine, round):
        """Replay round 0's dense training from the line's rewind point (same seed, same schedule) until the mask
        at the target sparsity stops changing; that mask. An interrupted search starts again (it keeps no
        checkpoint)."""
        from ..pruning.early_bird import EarlyBirdCallback, describe

        args, settings = self.args, self.settings
        engine.load_weights(engine.rewind.start_state(engine.folder, 1), "the start of the early-bird search")
        watcher = EarlyBirdCallback(engine.pruner, args.lth_target_sparsity, settings.lth_eb_interval,
                                    settings.lth_eb_epsilon, settings.lth_eb_window, engine.initial_mask,
                                    seed=args.seed + 1)
        # round 0's seed and mask: the search follows round 0's data order
        search = round.detached(engine.initial_mask, seed=args.seed, callbacks=[watcher])
        steps = engine.train_detached(search, output_dir=engine.folder.search_dir)
        round.record.update(describe(watcher, steps))
        return watcher.mask
