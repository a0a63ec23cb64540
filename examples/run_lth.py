#!/usr/bin/env python
"""Find lottery tickets for a text classifier: a thin wrapper of `hf_lth.run` for the repository's commands.

    accelerate launch --config_file examples/accelerate_single.yaml examples/run_lth.py [flags or config.json]

Installed without the repository, the same command is `hf-lth-run`, `python -m hf_lth.run` or
`accelerate launch -m hf_lth.run`; `python examples/run_lth.py --help` lists every flag.
"""

from __future__ import annotations

from hf_lth.run import _mp_fn, build_parser, cli, main, parse_args, release_process_group, run  # noqa: F401

if __name__ == "__main__":
    cli()
