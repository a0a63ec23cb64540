"""Shared fixtures. Everything here runs offline: no Hub, only local files and the samples shipped in hf_lth."""

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Tiny models run faster on one thread, and tests then do not fight over the cores.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "hf_lth" / "sample_data"

# Slow tests in files that other work is changing, marked here until the files carry the marker themselves.
SLOW_FILES = ("tests/study/test_runner.py", "tests/test_gpu_study.py")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `slow` marker, so that `--strict-markers` accepts it.

    Slow tests start processes (the command line, accelerate, torchrun, kills), execute the notebook, build the
    docs, train MiniLM, or train several rounds for more than about 2.5 s on a busy 2-core machine. `python -m
    pytest -m "not slow" tests` is the quick loop while developing (about 2 minutes on 2 cores); `python -m pytest
    tests` (the README's command, and CI) runs everything.
    """
    config.addinivalue_line("markers", "slow: starts processes or trains for more than a few seconds; "
                                       "deselect with -m 'not slow' for the quick loop")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of `SLOW_FILES` slow (they run studies and scripts in processes)."""
    for item in items:
        if item.path.is_relative_to(REPO_ROOT) and item.path.relative_to(REPO_ROOT).as_posix() in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    """`hf_lth/sample_data`: the shipped samples of real reviews, `imdb_{train,test}.parquet` and
    `yelp5_{train,test}.parquet` (columns `text`, `label`)."""
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def sample_rows(sample_data_dir) -> Callable[[str, str, int], pd.DataFrame]:
    """`sample_rows("yelp5", "train", 20)`: the first 20 rows of each label of a shipped sample file, as a
    fresh frame sorted by label (index 0..n-1)."""

    def rows(stem: str, split: str, per_class: int) -> pd.DataFrame:
        frame = pd.read_parquet(sample_data_dir / f"{stem}_{split}.parquet")
        frame = frame.groupby("label", group_keys=False).head(per_class)
        return frame.sort_values("label", kind="stable").reset_index(drop=True)

    return rows


@pytest.fixture(scope="module")
def dataset():
    """`helpers.tiny.separable_tokens()`: 96 rows of token ids that a tiny BERT separates in a few steps."""
    from helpers.tiny import separable_tokens  # imported here: it loads the trainer, which most tests do not need

    return separable_tokens()
