"""The bar over rounds (alone: no step, shard or tokenising bars), the resume lines, and Trainer's logs above it."""

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


def test_rounds_are_announced_on_a_bar_and_a_rerun_says_nothing_is_left(tmp_path, capsys, caplog):
    data = separable_tokens()
    make_trainer(tmp_path, data, lth_rounds=1, disable_tqdm=False).find_tickets()
    captured = capsys.readouterr()
    err = captured.err
    assert "round 0/1 · dense" in err and "round 1/1 · 20.0% sparse · rewind init" in err
    assert "2/2" in err  # tqdm's count of finished rounds
    # one bar: no Trainer step or evaluation bar nested under it, no "Writing model shards" bar for each ticket
    assert "it/s]" not in err and "Writing model shards" not in err
    assert "'train_loss'" in captured.out  # Trainer's logs are still written, above the bar

    with caplog.at_level(logging.INFO, logger="hf_lth"):
        make_trainer(tmp_path, data, lth_rounds=1, disable_tqdm=False).find_tickets()
    assert capsys.readouterr().err == ""  # nothing to train: no bar at all
    notes = [r.getMessage() for r in caplog.records if "nothing left to train" in r.getMessage()]
    assert len(notes) == 1 and notes[0].endswith("all 1 rounds are finished; nothing left to train.")


def test_trainer_logs_replace_trainers_step_bars(tmp_path):
    from transformers import PrinterCallback, ProgressCallback

    from hf_lth.progress import TrainerLogLines

    data = separable_tokens()
    kinds = {type(c) for c in make_trainer(tmp_path, data, disable_tqdm=False).callback_handler.callbacks}
    assert TrainerLogLines in kinds and ProgressCallback not in kinds
    kinds = {type(c) for c in make_trainer(tmp_path, data, disable_tqdm=True).callback_handler.callbacks}
    assert PrinterCallback in kinds and TrainerLogLines not in kinds


def test_trainer_log_lines_are_written_on_the_main_process_only(capsys):
    from types import SimpleNamespace

    from hf_lth.progress import TrainerLogLines

    logs = {"loss": 0.123456, "learning_rate": 0.001, "total_flos": 1e12, "lth_round": 2}
    TrainerLogLines().on_log(None, SimpleNamespace(is_world_process_zero=True), None, logs=logs)
    TrainerLogLines().on_log(None, SimpleNamespace(is_world_process_zero=False), None, logs=logs)
    assert capsys.readouterr().out == "{'loss': '0.1235', 'learning_rate': '0.001', 'lth_round': 2}\n"


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
