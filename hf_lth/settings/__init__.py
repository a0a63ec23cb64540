"""What an experiment is set to: `LTHArguments` (`arguments.py`), its list-valued flags (`flags.py`), the command line
(`parser.py`), bf16 on CPUs (`precision.py`), and the experiment identity, the settings that define a result
(`identity.py`)."""
