"""`import hf_lth` registers TextCNN/TextRNN with the Auto classes when transformers loads them, lazily: a round folder
loads without `trust_remote_code`, and `hf-lth-report --help` still starts in well under a second."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hf_lth.models import (
    TextCNNConfig,
    TextCNNForSequenceClassification,
    TextRNNConfig,
    TextRNNForSequenceClassification,
)

REPO = Path(__file__).resolve().parents[2]
TINY = {"vocab_size": 60, "embedding_dim": 8, "pad_token_id": 0}


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)


@pytest.fixture(scope="module")
def round_folders(tmp_path_factory):
    """A TextCNN and a TextRNN saved as a round is (code files and `auto_map` beside the weights)."""
    root = tmp_path_factory.mktemp("tickets")
    cnn = TextCNNForSequenceClassification(TextCNNConfig(**TINY, num_filters=4, filter_sizes=[2]))
    cnn.save_pretrained(root / "cnn")
    TextRNNForSequenceClassification(TextRNNConfig(**TINY, hidden_size=4, cell="lstm")).save_pretrained(root / "rnn")
    return root


# Each case: what the user imports first. `Trainer` and `PreTrainedModel` load transformers' configuration_auto
# from inside modeling_utils, which the registration needs whole; the last case imports transformers before hf_lth.
FIRST = {
    "hf_lth": "import hf_lth",
    "hf_lth then Trainer": "import hf_lth\nfrom transformers import Trainer",
    "hf_lth then PreTrainedModel": "import hf_lth\nfrom transformers import PreTrainedModel",
    "transformers first": "from transformers import AutoModelForSequenceClassification\nimport hf_lth",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(FIRST))
def test_import_hf_lth_then_an_auto_class_loads_a_round_folder_without_remote_code(case, round_folders):
    code = FIRST[case] + f"""
import sys
from transformers import AutoConfig, AutoModelForSequenceClassification
for name in ("cnn", "rnn"):
    folder = {str(round_folders)!r} + "/" + name
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    print(type(model).__module__, type(AutoConfig.from_pretrained(folder)).__module__)
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["hf_lth.models.modeling_text_cnn", "hf_lth.models.configuration_text_cnn",
                                   "hf_lth.models.modeling_text_rnn", "hf_lth.models.configuration_text_rnn"]


def test_import_hf_lth_loads_neither_torch_nor_transformers_and_report_help_takes_under_a_second():
    done = _python("import sys, hf_lth\n"
                   "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'}))")
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = []
    for _ in range(3):  # the best of three: the machine may be busy
        started = time.perf_counter()
        help_ = subprocess.run([sys.executable, "-m", "hf_lth.report", "--help"], capture_output=True, text=True,
                               timeout=60, cwd=REPO, env=env)
        times.append(time.perf_counter() - started)
        assert help_.returncode == 0 and "usage" in help_.stdout, help_.stderr
    assert min(times) < 1.0, times
