"""Run `examples/run_lth.py`, but stop for good at one chosen moment, so that a test can SIGKILL it exactly there.

The moment comes from the environment variable `HF_LTH_TEST_PAUSE` (JSON), one of:
- `{"round": R, "step": S}`: once the training loss of optimizer step S (or later) of round R is logged;
- `{"rename": REGEX}`: just before `os.replace` renames a path whose name matches REGEX (for `.round_01.tmp-123`,
  the ticket folder is then completely written under its temporary name, and not yet under its final one);
- `{"save_state": REGEX}`: just before Trainer writes a `trainer_state.json` whose path matches REGEX (the last
  file of a checkpoint: the checkpoint folder is then half-written).
At that moment the process prints `PAUSED_MARKER` on stdout and sleeps until it is killed. Waiting for a line
makes the kill land where intended on any machine, fast or slow, where polling for a short-lived state would not.
The package itself has no such hook: the launcher patches Trainer's log printer, `TrainerState.save_to_json` or
`os.replace`, in this child process only.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
import time
from pathlib import Path

PAUSED_MARKER = "@@hf_lth_test_paused@@"
RUN_LTH = Path(__file__).resolve().parents[2] / "examples" / "run_lth.py"


def _pause_forever(where: str) -> None:
    sys.stdout.write(f"{PAUSED_MARKER} {where}\n")
    sys.stdout.flush()
    while True:
        time.sleep(60)


def _pause_after_logged_step(round_index: int, step: int) -> None:
    from transformers.trainer_callback import PrinterCallback

    print_logs = PrinterCallback.on_log

    def on_log(self, args, state, control, logs=None, **kwargs):
        is_training_loss = logs is not None and "loss" in logs and logs.get("lth_round") == round_index
        print_logs(self, args, state, control, logs=logs, **kwargs)
        if is_training_loss and state.global_step >= step:
            _pause_forever(f"round {round_index} step {state.global_step}")

    PrinterCallback.on_log = on_log


def _pause_before_rename(pattern: str) -> None:
    replace, wanted = os.replace, re.compile(pattern)

    def paused_replace(src, dst, *args, **kwargs):
        if wanted.fullmatch(os.path.basename(os.fspath(src))):
            _pause_forever(f"rename {src} -> {dst}")
        return replace(src, dst, *args, **kwargs)

    os.replace = paused_replace


def _pause_before_trainer_state(pattern: str) -> None:
    from transformers.trainer_callback import TrainerState

    save_to_json, wanted = TrainerState.save_to_json, re.compile(pattern)

    def paused_save_to_json(self, json_path):
        if wanted.search(os.fspath(json_path)):
            _pause_forever(f"save {json_path}")
        return save_to_json(self, json_path)

    TrainerState.save_to_json = paused_save_to_json


def main() -> None:
    moment = json.loads(os.environ["HF_LTH_TEST_PAUSE"])
    if "rename" in moment:
        _pause_before_rename(moment["rename"])
    elif "save_state" in moment:
        _pause_before_trainer_state(moment["save_state"])
    else:
        _pause_after_logged_step(int(moment["round"]), int(moment["step"]))
    sys.argv = [str(RUN_LTH), *sys.argv[1:]]
    runpy.run_path(str(RUN_LTH), run_name="__main__")


if __name__ == "__main__":
    main()
