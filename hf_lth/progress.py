"""Progress of an experiment: one bar over its rounds (with the time left), Trainer's logs written above it, and
quiet library bars (tokenising, writing shards, loading weights) while hf_lth works."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import datasets
import transformers.utils.logging as transformers_logging
from tqdm.auto import tqdm
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class RoundProgress:
    """A tqdm bar over the rounds (and control rounds) a `find_tickets()` call will train, in the style of
    Trainer's step bar: `round 3/10 · 48.8% sparse · rewind init`, with tqdm's estimate of the time left for the
    whole experiment. Finished rounds count as done from the start, so a resumed run shows where it stands.

    Without the bar (`disable_tqdm`), each announcement is logged at INFO on `hf_lth.progress` instead; with it,
    notes are written above the bar. Both follow the level of the `hf_lth` logger (see `set_log_level`). The bar is
    off on processes other than the main one.
    """

    def __init__(self, total: int, done: int, enabled: bool):
        # Nothing left to train (a finished run started again): no bar, only the note that says so.
        self.bar = tqdm(total=total, initial=done, unit="round", disable=not enabled or done >= total,
                        dynamic_ncols=True)

    def start(self, message: str) -> None:
        """Announce the round that starts now."""
        if self.bar.disable:
            logger.info(message)
        else:
            self.bar.set_description_str(message, refresh=True)

    def advance(self) -> None:
        self.bar.update(1)

    def note(self, message: str) -> None:
        """A line above the bar, or in the log without it."""
        if self.bar.disable:
            logger.info(message)
        elif logger.isEnabledFor(logging.INFO):
            self.bar.write(message, file=sys.stderr)  # beside the bar, not in the program's output

    def close(self) -> None:
        self.bar.close()


class TrainerLogLines(TrainerCallback):
    """Trainer's logs (loss, learning rate, each round's summary) as lines above hf_lth's round bar, in place of
    Trainer's `ProgressCallback`, whose step and evaluation bars would nest under the round bar. Only the main
    process writes them; values are formatted as `ProgressCallback` does (floats to 4 significant digits,
    `total_flos` left out)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        """Write `logs` above the bar (on stdout, the program's output)."""
        if state.is_world_process_zero and logs:
            shown = {key: f"{value:.4g}" if isinstance(value, float) else value for key, value in logs.items()
                     if key != "total_flos"}
            tqdm.write(str(shown), file=sys.stdout)


def set_log_level(log_level: str, process_level: int, main_process: bool) -> None:
    """Level of the `hf_lth` loggers: INFO on the main process by default (`log_level="passive"`), so that rounds,
    resumes and warnings show; else the level Trainer uses for this process (`--log_level`, `--log_level_replica`)."""
    level = logging.INFO if log_level == "passive" and main_process else process_level
    logging.getLogger("hf_lth").setLevel(level)


def round_message(index: int, last: int, sparsity: float, rewind: str | None, control: str | None = None) -> str:
    """`round 3/10 · 48.8% sparse · rewind init`, `round 0/10 · dense`, `random_pruning control of round 5/10 · ...`."""
    head = f"round {index}/{last}" if control is None else f"{control} control of round {index}/{last}"
    if rewind is None:
        return f"{head} · dense"
    return f"{head} · {sparsity:.1%} sparse · rewind {rewind}"


@contextmanager
def library_progress_bars(enabled: bool) -> Iterator[None]:
    """Inside the block, turn transformers' and datasets' own progress bars ("Writing model shards", `map`) off
    when `enabled` is False (as `--disable_tqdm` asks); restore them after."""
    if enabled:
        yield
        return
    was = transformers_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was[0]:
            transformers_logging.enable_progress_bar()
        if was[1]:
            datasets.enable_progress_bars()
