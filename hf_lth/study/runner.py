"""Run studies resumably: one chain of lines per experiment folder, `jobs` chains at a time over the machine's cores.

A seed's lines run one after another (the main line first: it trains the trunk its branches reuse), and so do the
lines of several studies that share a seed's experiment folder; seeds run side by side, each process with
`cores // jobs` threads. Each line is one `python -m hf_lth.run` process writing its log to
`LOGS/STUDY_seedSEED_LINE.log`; a finished line is skipped by hf_lth itself when the study is run again, so a
study cut short continues where it was. A seed whose experiment folder is gone but whose every line is published in
full under `results` (every planned round and control) is skipped: a fresh machine does not retrain finished studies.
A failed line is reported (with its log) and does not stop the others; a failed main line stops its seed's branches.
While a line runs, `on_poll` (if given) is called every `poll_seconds`: `hf-lth-study run --publish` publishes each
round as it finishes, not only each line.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..storage.paths import RESULTS_FILE
from .records import LineRecords, line_folder
from .spec import Line, Study


@dataclass
class LineRun:
    """The outcome of one line of one seed."""

    study: str
    seed: int
    line: str
    exit_code: int | None
    seconds: float
    log: Path


def log_path(study: Study, seed: int, line: Line) -> Path:
    """Where the log of a line of a seed goes: `logs/` beside the seeds' experiment folders."""
    return study.output_dir(seed).parent / "logs" / f"{study.name}_seed{seed}_{line.name}.log"


def run_studies(studies: list[Study], jobs: int = 1, seeds: list[int] | None = None, lines: list[str] | None = None,
                dry_run: bool = False, echo=print, on_line_done=None, on_poll=None,
                poll_seconds: float = 60.0) -> list[LineRun]:
    """Run the chosen seeds and lines of `studies`, `jobs` seeds at a time.

    Args:
        studies: the studies (their seed chains share the workers, first study first).
        jobs: how many processes run at once.
        seeds: only these seeds (None: each study's own).
        lines: only these lines (None: all; a branch needs its main line finished before).
        dry_run: print the commands instead of running them.
        echo: where progress lines go.
        on_line_done: called with the study and the `LineRun` of each line that ends (e.g. to publish it).
        on_poll: called with the study and the seed every `poll_seconds` while one of its lines runs (e.g. to
            publish its finished rounds); an error it raises is reported, and the line goes on.
        poll_seconds: how often `on_poll` is called.

    Returns:
        One `LineRun` per line run (or printed), in the order they finished.
    """
    # One chain per experiment folder: studies that share a seed's folder (branches on the same trunk) run there
    # one after another, never two processes in one folder.
    chains: dict[Path, list[tuple[Study, int, Line]]] = {}
    for study in studies:
        for seed in study.seeds:
            if seeds is None or seed in seeds:
                chains.setdefault(study.output_dir(seed).resolve(), []).extend(
                    (study, seed, line) for line in study.lines if lines is None or line.name in lines)
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    if dry_run:
        for chain in chains.values():
            for study, seed, line in chain:
                skipped = "# published in full, skipped: " if published_in_full(study, seed) else ""
                echo(skipped + " ".join(study.command(seed, line)))
        return []
    done: list[LineRun] = []

    def run_chain(chain: list[tuple[Study, int, Line]]) -> None:
        failed_trunk = False
        for study, seed, line in chain:
            if published_in_full(study, seed):
                echo(f"[published] {study.name} seed {seed} {line.name}: finished and published in "
                     f"{study.results_dir(seed)}, its experiment folder is gone (remove the published copy to retrain)")
                continue
            if failed_trunk and not line.is_main:
                echo(f"[skip] {study.name} seed {seed} {line.name}: its main line failed")
                continue
            poll = None if on_poll is None else (lambda study=study, seed=seed: on_poll(study, seed))
            outcome = _run_line(study, seed, line, threads, echo, poll, poll_seconds)
            done.append(outcome)
            if on_line_done is not None:
                on_line_done(study, outcome)
            if line.is_main:
                failed_trunk = outcome.exit_code != 0

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(run_chain, chain) for chain in chains.values()]:
            future.result()
    return done


def published_in_full(study: Study, seed: int) -> bool:
    """True when `seed`'s experiment folder does not exist and its published copy holds every line to its last
    planned round and control (`Study.plan`)."""
    if study.output_dir(seed).exists() or study.results_dir(seed) is None:
        return False
    for line in study.lines:
        folder = line_folder(study, seed, line)
        if folder is None:
            return False
        records = LineRecords(seed, folder, json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8")))
        if not records.reached(study.plan(line), line.is_main):
            return False
    return True


def _run_line(study: Study, seed: int, line: Line, threads: int, echo, poll=None,
              poll_seconds: float = 60.0) -> LineRun:
    log = log_path(study, seed, line)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads)),
           "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    echo(f"[start] {study.name} seed {seed} {line.name} (log {log})")
    started = time.time()
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(study.command(seed, line))}\n")
        handle.flush()
        with subprocess.Popen(study.command(seed, line), stdout=handle, stderr=subprocess.STDOUT, env=env) as process:
            try:
                while True:
                    try:
                        code = process.wait(timeout=poll_seconds if poll is not None else None)
                        break
                    except subprocess.TimeoutExpired:
                        _call_poll(poll, study, seed, line, echo)
            except BaseException:  # as subprocess.run does: the line does not outlive an interrupted runner
                process.kill()
                raise
    seconds = time.time() - started
    verdict = "done" if code == 0 else f"FAILED (exit {code})"
    echo(f"[{verdict}] {study.name} seed {seed} {line.name} in {seconds:.0f} s")
    return LineRun(study.name, seed, line.name, code, seconds, log)


def _call_poll(poll, study: Study, seed: int, line: Line, echo) -> None:
    try:
        poll()
    except Exception as err:  # publishing a running line must never stop it
        echo(f"[warning] {study.name} seed {seed} {line.name}: {type(err).__name__}: {err}")
