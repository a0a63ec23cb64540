"""Reports of experiments: results read from a folder (`results.py`), the round table and headline figures
(`text.py`), the plots (`plots.py`), and `hf-lth-report` with `write_report` (`cli.py`)."""
