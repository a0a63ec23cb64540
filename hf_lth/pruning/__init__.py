"""Which weights survive: `TicketMask` (`masks.py`), the pruning strategies and their exact selection
(`strategies.py`), which parameters are prunable (`scope.py`), and pruning while training: gradual magnitude
pruning's schedule (`gradual.py`) and the early-bird mask watcher (`early_bird.py`)."""
