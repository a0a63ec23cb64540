"""Tickets for the Hub, offline: staging, card metadata, offline push failure, remote code, reuse on Yelp-5."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoModelForSequenceClassification
from safetensors.torch import load_file

from hf_lth.errors import LTHHubError
from hf_lth.hub.tickets import load_ticket_mask, push_ticket, stage_ticket
from hf_lth.pruning.masks import TicketMask

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "run_lth.py"


def run_lth(*flags: str) -> int:
    spec = importlib.util.spec_from_file_location("run_lth", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(list(flags))


TINY = ["--model_name_or_path", "cnn", "--config_overrides", "embedding_dim=16,num_filters=8", "--vocab_size", "2000",
        "--max_train_samples", "96", "--max_eval_samples", "48", "--max_test_samples", "48", "--max_seq_length", "64",
        "--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--disable_tqdm", "true"]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub") / "imdb_cnn"
    assert run_lth(*TINY, "--lth_rounds", "2", "--output_dir", str(out)) == 0
    return out


def _digest_tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "hub_staging" not in p.parts}


def test_staged_folder_has_weights_mask_tokenizer_card_plot_and_remote_code(experiment, tmp_path):
    staged = stage_ticket(experiment, tmp_path / "staged", "someone/imdb-cnn-ticket", command="python run_lth.py")
    names = {p.name for p in staged.iterdir()}
    assert {"config.json", "model.safetensors", "lth_mask.safetensors", "tokenizer.json", "README.md",
            "accuracy_vs_sparsity.png", "lth_results.json", "configuration_text_cnn.py", "modeling_text_cnn.py"} <= names
    results = json.loads((experiment / "lth_results.json").read_text())
    config = json.loads((staged / "config.json").read_text())
    assert config["lth"]["round"] == results["best_round"]
    assert {"sparsity", "layer_sparsity", "strategy", "rewind", "prune_scope", "dataset", "seed", "eval_accuracy",
            "test_accuracy"} <= set(config["lth"])
    assert config["auto_map"]["AutoModelForSequenceClassification"].endswith("TextCNNForSequenceClassification")
    card = ModelCard.load(staged / "README.md")
    assert {"lottery-ticket", "pruning", "sparse"} <= set(card.data.tags)
    accuracy = {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert accuracy[("test", "accuracy")] == pytest.approx(config["lth"]["test_accuracy"])
    assert accuracy[("validation", "accuracy")] == pytest.approx(config["lth"]["eval_accuracy"])
    assert "| round | sparsity %" in card.text and "trust_remote_code=True" in card.text
    assert "python run_lth.py" in card.text


def test_named_round_and_unknown_round(experiment, tmp_path):
    staged = stage_ticket(experiment, tmp_path / "r1", "someone/t", round_index=1)
    assert json.loads((staged / "config.json").read_text())["lth"]["round"] == 1
    with pytest.raises(ValueError, match="round 7 is not a finished round"):
        stage_ticket(experiment, tmp_path / "r7", "someone/t", round_index=7)


def test_push_offline_fails_with_one_sentence_and_leaves_results_untouched(experiment, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    before = _digest_tree(experiment)
    with pytest.raises(LTHHubError, match=r"cannot push to someone/t: HF_HUB_OFFLINE is set; the ticket is staged in"):
        push_ticket(experiment, "someone/t")
    assert _digest_tree(experiment) == before


def test_cli_push_to_hub_offline_exits_non_zero_after_saving_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    out = tmp_path / "push"
    code = run_lth(*TINY, "--lth_rounds", "1", "--output_dir", str(out), "--push_to_hub", "--hub_model_id", "me/x")
    assert code == 1
    assert "error: cannot push to me/x: HF_HUB_OFFLINE is set" in capsys.readouterr().err
    assert len(json.loads((out / "lth_results.json").read_text())["rounds"]) == 2


@pytest.mark.slow
def test_ticket_loads_in_a_fresh_process_without_hf_lth(experiment, tmp_path):
    ticket = experiment / "round_02"
    code = f"""
import sys
sys.modules["hf_lth"] = None  # hf_lth cannot be imported here
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
model, info = AutoModelForSequenceClassification.from_pretrained({str(ticket)!r}, trust_remote_code=True, output_loading_info=True)
assert not info["missing_keys"] and not info["unexpected_keys"], info
assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
tokenizer = AutoTokenizer.from_pretrained({str(ticket)!r}, trust_remote_code=True)
logits = model.eval()(**tokenizer(["a fine film"], return_tensors="pt")).logits
print(model.config.lth["round"], tuple(logits.shape))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2 (1, 2)"


def test_ticket_found_on_imdb_trains_on_yelp5_under_its_mask(experiment, tmp_path, sample_rows):
    sample_rows("yelp5", "train", 30).to_parquet(tmp_path / "yelp.parquet")  # 150 real reviews, 5 labels
    ticket = experiment / "round_02"
    out = tmp_path / "yelp_run"
    code = run_lth(*TINY[4:], "--model_name_or_path", str(ticket), "--lth_init_mask", str(ticket),
                   "--ignore_mismatched_sizes", "--train_file", str(tmp_path / "yelp.parquet"),
                   "--lth_rounds", "0", "--output_dir", str(out))
    assert code == 0
    ticket_mask = load_ticket_mask(ticket)
    new_mask = TicketMask.load(out / "round_00" / "lth_mask.safetensors")
    weights = load_file(str(out / "round_00" / "model.safetensors"))
    assert weights["classifier.weight"].shape == (5, 24)
    for name, mask in new_mask.items():
        if name == "classifier.weight":  # another number of labels: a new, dense head
            assert bool(mask.all())
        else:
            assert torch.equal(mask, ticket_mask[name]), name
        assert torch.count_nonzero(weights[name][~mask]) == 0, name
    record = json.loads((out / "lth_results.json").read_text())["rounds"][0]
    assert record["init_mask"] == str(ticket) and record["sparsity"] > 0.3


def test_stage_locally_without_a_repo_id(experiment, tmp_path):
    """Staging alone needs no Hub repository: the card's snippets load the staged folder."""
    staged = stage_ticket(experiment, tmp_path / "local")
    card = (staged / "README.md").read_text()
    assert f'from_pretrained("{staged.resolve()}"' in card
    loaded = AutoModelForSequenceClassification.from_pretrained(staged, trust_remote_code=True)
    assert loaded.config.lth["round"] == json.loads((experiment / "lth_results.json").read_text())["best_round"]


def _use_snippet(card_text: str) -> str:
    """The Python block under the card's "## Use" heading."""
    use = card_text.split("## Use", 1)[1]
    return use.split("```python\n", 1)[1].split("```", 1)[0]


def test_card_shows_pipeline_with_remote_code_only_where_the_ticket_needs_it():
    from hf_lth.hub.card import ticket_card

    record = {"round": 1, "sparsity": 0.2, "rewind": "init", "strategy": "global_magnitude", "prune_rate": 0.2,
              "eval_accuracy": 0.7, "test_accuracy": 0.68, "dataset": "imdb"}
    results = {"rounds": [dict(record, round=0, sparsity=0.0), record], "best_round": 1}
    remote = _use_snippet(ticket_card(record, results, "me/ticket", remote_code=True).text)
    assert 'pipeline("text-classification", model="me/ticket", trust_remote_code=True)' in remote
    assert 'from_pretrained("me/ticket", trust_remote_code=True)' in remote
    plain = _use_snippet(ticket_card(record, results, "me/bert-ticket", remote_code=False).text)
    assert 'pipeline("text-classification", model="me/bert-ticket")' in plain and "trust_remote_code" not in plain
    # the installed command, not a path inside the repository
    assert "hf-lth-run --model_name_or_path me/ticket --lth_init_mask me/ticket" in ticket_card(record, results, "me/ticket").text


@pytest.mark.slow
def test_the_cards_pipeline_snippet_runs_where_hf_lth_is_absent(experiment, tmp_path):
    """The card's "Use" block, as written, in a fresh interpreter that cannot import hf_lth."""
    staged = stage_ticket(experiment, tmp_path / "staged")
    snippet = _use_snippet((staged / "README.md").read_text())
    assert "trust_remote_code=True" in snippet
    code = 'import sys\nsys.modules["hf_lth"] = None\n' + snippet + 'print("LABEL", model.config.id2label[0])\n'
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[{'label': " in done.stdout and "'score': " in done.stdout, done.stdout


def test_hub_how_to_shows_pipeline_with_remote_code():
    page = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "hub.md").read_text()
    assert 'pipeline("text-classification", model="me/imdb-cnn-ticket", trust_remote_code=True)' in page


def test_card_metadata_rounds_sparsities():
    from hf_lth.hub.card import ticket_card

    record = {"round": 1, "sparsity": 1 - 0.8, "sparsity_without_embedding": 0.06125000000000003, "rewind": "init",
              "strategy": "global_magnitude", "prune_rate": 0.2, "eval_accuracy": 0.7, "test_accuracy": 0.68}
    card = ticket_card(record, {"rounds": [dict(record, round=0, sparsity=0.0), record], "best_round": 1}, "me/t")
    lth = card.data.to_dict()["lth"]
    assert lth["sparsity"] == 0.2 and lth["sparsity_without_embedding"] == 0.06125
    assert "0.19999999999999996" not in card.content
