"""Run `examples/run_lth.py` in a subprocess, watch it, and SIGKILL it at a chosen moment."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import paused_run_lth

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_LTH = REPO_ROOT / "examples" / "run_lth.py"
PAUSED_RUN_LTH = Path(paused_run_lth.__file__)

# A TextCNN small enough that one process starts, trains two rounds and exits in a few seconds.
TINY = [
    "--model_name_or_path", "cnn", "--config_overrides", "embedding_dim=16,num_filters=8",
    "--vocab_size", "2000", "--max_train_samples", "64", "--max_eval_samples", "32", "--max_test_samples", "32",
    "--max_seq_length", "64", "--num_train_epochs", "1", "--per_device_train_batch_size", "8",
    "--disable_tqdm", "true", "--dataloader_pin_memory", "false",
]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1",
        TRANSFORMERS_NO_ADVISORY_WARNINGS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
    )
    env.update(extra)
    return env


@dataclass
class Run:
    returncode: int | None
    stdout: str
    stderr: str
    killed: bool = False
    lines: list[str] = field(default_factory=list)


def _pump(stream, sink: list[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
    stream.close()


def run_cli(
    args: list[str],
    kill_when: Callable[[list[str]], bool] | None = None,
    timeout: float = 240,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    pause_at: dict | None = None,
) -> Run:
    """Run run_lth.py with `args`; if `kill_when(stdout lines so far)` becomes true, SIGKILL it at once.

    `kill_when` is polled in a tight loop (it may also look at the file system), so the kill lands within
    a fraction of a millisecond of the moment it describes. For moments too short to catch by polling, give
    `pause_at` instead (see `paused_run_lth.py`): the child stops there by itself and is killed while it waits.
    """
    env = dict(env or cli_env())
    script = RUN_LTH
    if pause_at is not None:
        script, env["HF_LTH_TEST_PAUSE"] = PAUSED_RUN_LTH, json.dumps(pause_at)
        kill_when = kill_when or paused
    proc = subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=cwd,
    )
    out, err = Lines(), Lines()
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, err), daemon=True)]
    for pump in pumps:
        pump.start()
    killed = False
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run_lth.py {' '.join(args)} ran past {timeout} s:\n{''.join(out)[-3000:]}")
            if kill_when is not None and kill_when(out):
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05 if kill_when is None else 0.0005)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pump in pumps:
        pump.join(timeout=10)
    return Run(proc.returncode, "".join(out), "".join(err), killed, out)


def paused(lines: list[str]) -> bool:
    """True once a child started with `pause_at` has reached its moment and waits to be killed."""
    return any(line.startswith(paused_run_lth.PAUSED_MARKER) for line in lines[-3:])


class Lines(list):
    """A child's output lines (appended by a reader thread), with the Trainer log records parsed so far."""

    def __init__(self):
        super().__init__()
        self.parsed_upto = 0
        self.records: list[dict] = []


def log_records(lines: list[str]) -> list[dict]:
    """The Trainer's log lines (printed dicts) among `lines`; each line is parsed once for a `Lines`."""
    if not isinstance(lines, Lines):
        scratch = Lines()
        scratch.extend(lines)
        lines = scratch
    end = len(lines)
    for line in lines[lines.parsed_upto:end]:
        line = line.strip()
        if line.startswith("{") and line.endswith("}") and "lth_round" in line:
            try:
                lines.records.append(ast.literal_eval(line))
            except (ValueError, SyntaxError):
                pass
    lines.parsed_upto = end
    return lines.records


def training_steps_logged(lines: list[str], round_index: int, steps_per_epoch: int) -> list[int]:
    """Optimizer steps of `round_index` whose loss was logged (needs --logging_steps 1)."""
    steps = []
    for record in log_records(lines):
        if "loss" in record and int(record["lth_round"]) == round_index:
            steps.append(round(float(record["epoch"]) * steps_per_epoch))
    return steps
