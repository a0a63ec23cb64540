"""`one_shot`: one pruned round, straight to `lth_target_sparsity` (the comparison of Frankle & Carbin, 2019).

It is IMP with a single round, and its records say so as they did when it was the `--lth_one_shot` flag (still
accepted, and recorded in the identity): `method` "imp", `prune_schedule` "one_shot", `prune_rate` the target.
"""

from __future__ import annotations

from ..errors import LTHInputError
from .base import register_method
from .imp import IMP


@register_method
class OneShot(IMP):
    name = "one_shot"
    record_name = "imp"
    needs_target_sparsity = True
    help = "prune straight to lth_target_sparsity in one round (the same as --lth_one_shot)"

    @classmethod
    def check(cls, args):
        if args.lth_target_sparsity is None:
            raise LTHInputError("lth_one_shot needs lth_target_sparsity (the sparsity of the single pruned round).")

    def num_rounds(self) -> int:
        return 1

    def prune_fraction(self, index: int) -> float:
        return self.args.lth_target_sparsity

    def line_record(self):
        return {"prune_rate": self.args.lth_target_sparsity, "prune_schedule": "one_shot"}

    @classmethod
    def identity(cls, settings):
        settings.pop("lth_method", None)  # recorded as lth_one_shot, as before there was a one_shot method
