"""Text-classification data: presets, local files and the shipped samples into train/validation/test, tokenised and
collated (`loading.py`); tokenizers trained from scratch (`tokenization.py`)."""
