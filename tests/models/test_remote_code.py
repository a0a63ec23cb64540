"""A saved custom model is a self-contained folder: `trust_remote_code=True` loads it where hf_lth is absent."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from hf_lth.models import (
    TextCNNConfig,
    TextCNNForSequenceClassification,
    TextRNNConfig,
    TextRNNForSequenceClassification,
)

TINY = {"vocab_size": 60, "embedding_dim": 8, "pad_token_id": 0}
MODELS = {
    "cnn": (TextCNNForSequenceClassification, TextCNNConfig(**TINY, num_filters=6, filter_sizes=[2, 3])),
    "lstm": (TextRNNForSequenceClassification, TextRNNConfig(**TINY, hidden_size=6, cell="lstm")),
    "gru": (TextRNNForSequenceClassification, TextRNNConfig(**TINY, hidden_size=6, cell="gru", num_layers=1)),
}
FILES = {
    "cnn": ("configuration_text_cnn.py", "modeling_text_cnn.py"),
    "lstm": ("configuration_text_rnn.py", "modeling_text_rnn.py"),
    "gru": ("configuration_text_rnn.py", "modeling_text_rnn.py"),
}

# Runs in a fresh interpreter that cannot import hf_lth; compares nothing itself, writes the logits back.
SCRIPT = """
import sys
sys.modules["hf_lth"] = None  # any `import hf_lth...` now raises ImportError
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification

inputs = load_file("inputs.safetensors")
logits = {}
for name in sys.argv[1:]:
    model = AutoModelForSequenceClassification.from_pretrained(name, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    with torch.no_grad():
        logits[name] = model(inputs["input_ids"], inputs["attention_mask"]).logits.contiguous()
save_file(logits, "logits.safetensors")
"""


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_pretrained_writes_code_and_auto_map(name, tmp_path):
    model_class, config = MODELS[name]
    model_class(config).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    config_file, modeling_file = (f.removesuffix(".py") for f in FILES[name])
    assert saved["auto_map"] == {
        "AutoConfig": f"{config_file}.{type(config).__name__}",
        "AutoModelForSequenceClassification": f"{modeling_file}.{model_class.__name__}",
    }
    for file in FILES[name]:
        code = (tmp_path / file).read_text()
        assert not any(line.lstrip().startswith(("import hf_lth", "from hf_lth")) for line in code.splitlines())


@pytest.mark.slow
def test_remote_code_loads_without_hf_lth(tmp_path):
    torch.manual_seed(0)
    input_ids = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 0, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    save_file({"input_ids": input_ids, "attention_mask": attention_mask}, tmp_path / "inputs.safetensors")
    expected = {}
    for name, (model_class, config) in MODELS.items():
        model = model_class(config).eval()
        model.save_pretrained(tmp_path / name)
        with torch.no_grad():
            expected[name] = model(input_ids, attention_mask).logits

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *MODELS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logits = load_file(tmp_path / "logits.safetensors")
    for name in MODELS:
        assert torch.allclose(logits[name], expected[name], atol=1e-6), name
