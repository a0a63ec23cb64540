"""Shared by the torchrun test helpers: run `examples/run_lth.py` in this process, then gather every process's
record onto process 0, which writes them all as JSON to the file named by an environment variable."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_lth_and_report(argv: list[str], record: dict, report_env: str) -> int:
    """`examples/run_lth.py`'s `main(argv)`; `record` (updated with this process's rank and exit code) gathered from
    every process and written by process 0 to `$report_env`; returns the exit code."""
    spec = importlib.util.spec_from_file_location("run_lth", REPO_ROOT / "examples" / "run_lth.py")
    run_lth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_lth)
    code = run_lth.main(argv)
    record = {"rank": int(os.environ.get("RANK", "0")), "exit_code": code, **record}
    records = [record]
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        records = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(records, record)
    if record["rank"] == 0 and os.environ.get(report_env):
        Path(os.environ[report_env]).write_text(json.dumps(records, indent=1))
    run_lth.release_process_group()
    return code
