"""Studies: a YAML file names a base experiment, seeds and lines; `hf-lth-study` runs, reports and publishes them."""

from .spec import Line, Study, load_study

__all__ = ["Line", "Study", "load_study"]
