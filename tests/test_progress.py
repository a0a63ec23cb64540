"""The bar over rounds, the visible resume lines, and library bars silenced by `disable_tqdm`."""

import logging

import datasets
import transformers.utils.logging as transformers_logging
from helpers.tiny import make_trainer, separable_tokens

from hf_lth.progress import library_progress_bars, round_message


def test_round_message():
    assert round_message(0, 10, 0.0, None) == "round 0/10 · dense"
    assert round_message(3, 10, 0.488, "init") == "round 3/10 · 48.8% sparse · rewind init"
    assert round_message(5, 10, 0.672, "step:20", "random_pruning") == (
        "random_pruning control of round 5/10 · 67.2% sparse · rewind step:20")


def test_rounds_are_announced_on_a_bar_and_a_rerun_says_nothing_is_left(tmp_path, capsys):
    data = separable_tokens()
    make_trainer(tmp_path, data, lth_rounds=1, disable_tqdm=False).find_tickets()
    err = capsys.readouterr().err
    assert "round 0/1 · dense" in err and "round 1/1 · 20.0% sparse · rewind init" in err
    assert "2/2" in err  # tqdm's count of finished rounds
    assert "Writing model shards" in err  # the library's own bar is left alone without disable_tqdm

    make_trainer(tmp_path, data, lth_rounds=1, disable_tqdm=False).find_tickets()
    err = capsys.readouterr().err
    assert "all 1 rounds are finished; nothing left to train." in err
    assert "round 1/1" not in err


def test_resume_line_is_logged_without_the_bar(tmp_path, capsys, caplog):
    data = separable_tokens()
    make_trainer(tmp_path, data, lth_rounds=0).find_tickets()
    with caplog.at_level(logging.INFO, logger="hf_lth"):
        make_trainer(tmp_path, data, lth_rounds=1).find_tickets()
    assert "after finished round 0: 1 round(s) to train." in caplog.text
    assert "round 1/1 · 20.0% sparse · rewind init" in caplog.text
    assert "Writing model shards" not in capsys.readouterr().err  # disable_tqdm silences the library's bars


def test_library_progress_bars_are_restored():
    with library_progress_bars(False):
        assert not transformers_logging.is_progress_bar_enabled() and not datasets.is_progress_bar_enabled()
    assert transformers_logging.is_progress_bar_enabled() and datasets.is_progress_bar_enabled()
