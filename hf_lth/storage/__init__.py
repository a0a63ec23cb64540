"""The experiment on disk: `ExperimentFolder`, the owner of every path (`folder.py`), the names it joins (`paths.py`),
crash-safe writes (`atomic.py`), compact tickets (`compact.py`), per-example predictions (`predictions.py`), and
loading a stored state into a model in place (`weights.py`)."""
