"""hf_lth: Lottery Ticket Hypothesis experiments for text classification inside the Hugging Face ecosystem."""

__version__ = "0.1.0"
