"""The round loop: `LTHTrainer` (`trainer.py`), the state of the round being trained (`round_state.py`), the callbacks
that keep masks and capture rewind points (`callbacks.py`), collapsed rounds (`collapse.py`) and the metrics
(`metrics.py`). It imports no report, Hub, study or analysis code."""
