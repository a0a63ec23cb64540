"""Crash-safe writes: a file or folder appears complete under its final name, or not at all.

Everything is first written under a temporary name beside its destination (`.NAME.tmp-PID`), flushed to disk,
then renamed. A folder that replaces an older one is swapped in without ever leaving a partial folder under the
final name: the old one is first renamed aside (`.NAME.old-PID`), and removed only after the new one is in
place. A process killed at any moment leaves at most such dot-named leftovers, which `is_temporary_name`
recognises and the experiment folder removes when a run resumes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TEMPORARY = re.compile(r"^\..+\.(tmp|old)-\d+$")


def is_temporary_name(name: str) -> bool:
    """True for the names that `atomic_path` and `atomic_dir` use for files and folders in progress."""
    return _TEMPORARY.match(name) is not None


def _temporary(path: Path, kind: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def _fsync_file(path: str | Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: str | Path) -> None:
    """Make a rename inside `path` durable (best effort: some file systems refuse to open folders)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        yield str(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: str | Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False)
            handle.write("\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; rename it onto `path` only if the block succeeds.

    A folder under its final name is therefore always complete, which is how a finished round is recognised.
    An existing folder at `path` is renamed aside first and removed after the swap, so that a crash at any
    point leaves under the final name the complete old folder, the complete new one, or nothing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    _remove(tmp)
    tmp.mkdir()
    try:
        yield tmp
        for root, _, files in os.walk(tmp):
            for name in files:
                _fsync_file(os.path.join(root, name))
            _fsync_dir(root)
        old = None
        if path.exists():
            old = _temporary(path, "old")
            _remove(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            _remove(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def remove_path(path: str | Path) -> None:
    """Remove a file or folder so that a crash midway never leaves part of it under its name."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_dir() and not path.is_symlink():
        trash = _temporary(path, "old")
        _remove(trash)
        os.replace(path, trash)
        _fsync_dir(path.parent)
        _remove(trash)
    else:
        path.unlink(missing_ok=True)
