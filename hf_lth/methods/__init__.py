"""Line methods: how a line of pruned rounds finds its masks, each one small `LineMethod` in its own module.

`imp` (iterative magnitude pruning), `one_shot`, `gmp` (gradual magnitude pruning) and `early_bird` are registered
here; `register_method` adds another (see `hf_lth.methods.base.LineMethod`), and the trainer, the arguments and
the experiment identity then know it: none of them switches on a method's name.
"""

from .base import CONTROL_RECORD, METHODS, LineMethod, get_method, method_setting_names, register_method
from .imp import IMP  # noqa: I001 (registration order is the order choices are listed in)
from .one_shot import OneShot
from .gmp import GMP, GMPSettings
from .early_bird import EarlyBird, EarlyBirdSettings


def resolve_method(args) -> None:
    """Check `args.lth_method` and make it `one_shot` for the older `--lth_one_shot` flag (with the default `imp`;
    with any other method the flag is refused); the flag, which the experiment identity keeps, then says whether
    the method is one_shot."""
    get_method(args.lth_method)
    if args.lth_one_shot and args.lth_method not in (IMP.name, OneShot.name):
        from ..errors import LTHInputError

        raise LTHInputError(f"lth_one_shot is a kind of imp; it does not combine with lth_method {args.lth_method}.")
    if args.lth_one_shot:
        args.lth_method = OneShot.name
    args.lth_one_shot = args.lth_method == OneShot.name


def settings_classes() -> tuple[type, ...]:
    """The settings dataclasses of the registered methods, in registration order (LTHArguments' flag groups)."""
    return tuple(m.settings_class for m in METHODS.values() if m.settings_class is not None)


__all__ = ["CONTROL_RECORD", "GMP", "IMP", "METHODS", "EarlyBird", "EarlyBirdSettings", "GMPSettings", "LineMethod",
           "OneShot", "get_method", "method_setting_names", "register_method", "resolve_method",
           "settings_classes"]
