"""Models and tokenizers: a preset built from a config or any checkpoint from the Hub or disk (`models.py`), the
offline pretrained presets (`pretrained.py`), and registering TextCNN/TextRNN with the Auto classes on `import hf_lth`
(`auto_registration.py`)."""
