"""`python -m hf_lth.report`: the same as `hf-lth-report`."""

import sys

from .cli import main

sys.exit(main())
