"""Tickets on the Hugging Face Hub: stage a ticket folder (weights, mask, tokenizer, card, plot), push it,
and load a ticket's mask from a local folder, a file or a Hub repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, hf_hub_download, is_offline_mode

from safetensors.torch import save_file

from ..errors import LTHHubError, LTHInputError
from ..pruning.masks import MASK_FILE, TicketMask
from ..report.plots import plot_accuracy_vs_sparsity
from ..storage.atomic import atomic_dir
from ..storage.compact import COMPACT_WEIGHTS_NAME, DENSE_WEIGHTS_NAME, load_ticket_state
from ..storage.folder import ExperimentFolder
from ..storage.paths import CONFIG_FILE, PLOT_FILE
from ..storage.predictions import PREDICTIONS_FILE
from .card import ticket_card

SPEED_BATCH, SPEED_TOKENS = 64, 128  # the batch a shrunk ticket's speed is measured on


def choose_round(results: dict[str, Any], round_index: int | None = None) -> int:
    """`round_index` if given and finished, else the best ticket on validation (`results["best_round"]`)."""
    finished = [r["round"] for r in results["rounds"]]
    if round_index is None:
        if results.get("best_round") is None:
            raise LTHInputError("the experiment has no finished round with validation metrics to choose a ticket from.")
        return results["best_round"]
    if round_index not in finished:
        raise LTHInputError(f"round {round_index} is not a finished round of this experiment (finished: {finished}).")
    return round_index


def stage_ticket(output_dir: str | Path, staging_dir: str | Path, repo_id: str | None = None,
                 round_index: int | None = None, command: str | None = None, shrink: bool = False) -> Path:
    """Copy one ticket of `output_dir` into `staging_dir` with its model card, plot and the experiment's results.

    The staged folder is exactly what `push_ticket` uploads; building it touches no file of `output_dir`. Without
    `repo_id` (staging only), the card's loading snippets read the staged folder itself. With `shrink`, a channel
    ticket goes out as the smaller dense model (`hf_lth.structure.shrink_model`, without its mask), and the card
    gives its throughput against the dense model's, measured while staging.

    Args:
        output_dir: the finished experiment's folder.
        staging_dir: where to write the staged ticket (replaced as a whole).
        repo_id: the Hub repository the card's loading snippets name; None for the staged folder itself.
        round_index: the round to stage; None for the best ticket on validation.
        command: the command that produced the experiment, shown in the card.
        shrink: stage a channel ticket as its shrunk dense model, with its measured speed.

    Returns:
        `staging_dir`, as a `Path`.

    Raises:
        LTHInputError: `output_dir` is no finished experiment, or `round_index` no finished round of it.
    """
    folder = ExperimentFolder(output_dir)
    if not folder.results_path.is_file():
        raise LTHInputError(f"{folder.results_path} does not exist: is {output_dir} a finished experiment?")
    results = json.loads(folder.results_path.read_text(encoding="utf-8"))
    index = choose_round(results, round_index)
    record = folder.record(index)
    if not folder.has_weights(index):
        raise LTHInputError(f"round {index} of {output_dir} was restored from published records and holds no weights "
                            f"({folder.restored_path(index).name}): push a round trained in this folder "
                            "(--lth_push_round).")
    with atomic_dir(staging_dir) as tmp:
        for item in folder.round_dir(index).iterdir():
            if item.is_file() and item.name not in (COMPACT_WEIGHTS_NAME, PREDICTIONS_FILE):
                shutil.copy2(item, tmp / item.name)
        if not (tmp / DENSE_WEIGHTS_NAME).is_file():  # a compact ticket goes out dense, for from_pretrained
            save_file(load_ticket_state(folder.round_dir(index)), str(tmp / DENSE_WEIGHTS_NAME), metadata={"format": "pt"})
        shutil.copy2(folder.results_path, tmp / folder.results_path.name)
        plot_accuracy_vs_sparsity(results, tmp / PLOT_FILE)
        shrunk = _shrink_staged(tmp) if shrink else None
        where = repo_id or str(Path(staging_dir).resolve())
        remote_code = "auto_map" in json.loads((tmp / CONFIG_FILE).read_text(encoding="utf-8"))
        ticket_card(record, results, where, command=command, plot_file=PLOT_FILE,
                    remote_code=remote_code, shrunk=shrunk).save(tmp / "README.md")
    return Path(staging_dir)


def _shrink_staged(folder: Path) -> dict[str, Any]:
    """Replace the staged channel ticket by its shrunk model; return what changed and the measured speed-up."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from .. import models  # noqa: F401  (registers TextCNN / TextRNN with the Auto classes)
    from ..structure import examples_per_second, shrink_model

    ticket = AutoModelForSequenceClassification.from_pretrained(folder)
    result = shrink_model(ticket, TicketMask.load(folder / MASK_FILE))
    dense = type(ticket)(ticket.config).eval()  # the unpruned architecture (its weights do not change the speed)
    tokens = min(SPEED_TOKENS, getattr(ticket.config, "max_position_embeddings", SPEED_TOKENS))
    batch = torch.randint(1, ticket.config.vocab_size, (SPEED_BATCH, tokens))
    dense_speed, shrunk_speed = examples_per_second(dense, batch), examples_per_second(result.model, batch)
    info = {
        "changed": {k: list(v) for k, v in result.changed.items()},
        "kept_as_zeros": result.kept_as_zeros,
        "parameters": [sum(p.numel() for p in ticket.parameters()), sum(p.numel() for p in result.model.parameters())],
        "examples_per_second": [round(dense_speed, 1), round(shrunk_speed, 1)],
        "speedup": round(shrunk_speed / dense_speed, 3),
        "batch": [SPEED_BATCH, tokens],
        "threads": torch.get_num_threads(),
    }
    result.model.config.lth = {**(getattr(ticket.config, "lth", None) or {}), "shrunk": info}
    (folder / MASK_FILE).unlink()  # the mask fits the unshrunk shapes only
    result.model.save_pretrained(folder)
    return info


def push_ticket(output_dir: str | Path, repo_id: str, round_index: int | None = None, private: bool | None = None,
                token: str | None = None, command: str | None = None, commit_message: str | None = None,
                shrink: bool = False) -> str:
    """Stage a ticket (best on validation by default; shrunk with `shrink`) and upload it to `repo_id`.

    The ticket is staged in `output_dir/hub_staging/` (see `stage_ticket`); no other file of `output_dir` is
    modified.

    Args:
        output_dir: the finished experiment's folder.
        repo_id: the Hub repository to upload to (created if missing).
        round_index: the round to push; None for the best ticket on validation.
        private: whether a newly created repository is private (None: the Hub's default).
        token: a Hugging Face token; None for the one stored by `hf auth login` or `HF_TOKEN`.
        command: the command that produced the experiment, shown in the card.
        commit_message: the upload's commit message; None for one naming the experiment.
        shrink: push a channel ticket as its shrunk dense model.

    Returns:
        The commit URL.

    Raises:
        LTHHubError: offline, or the Hub refused the upload (one sentence; the staged ticket is kept).
    """
    staging = Path(output_dir) / "hub_staging" / repo_id.replace("/", "--")
    stage_ticket(output_dir, staging, repo_id, round_index, command, shrink=shrink)
    if is_offline_mode():
        raise LTHHubError(
            f"cannot push to {repo_id}: HF_HUB_OFFLINE is set; the ticket is staged in {staging} and can be "
            f"uploaded later with `hf upload {repo_id} {staging}`."
        )
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=staging,
                                 commit_message=commit_message or f"Upload lottery ticket from {Path(output_dir).name}")
    except Exception as err:  # network, authentication and Hub errors all end the push the same way
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise LTHHubError(f"could not push the ticket to {repo_id} ({reason}); it is staged in {staging}.") from err
    return str(getattr(info, "commit_url", info))


def load_ticket_mask(source: str | Path, token: str | None = None, cache_dir: str | None = None) -> TicketMask:
    """A ticket's mask from a mask file, a ticket folder, or a Hub repository id holding `lth_mask.safetensors`.

    Args:
        source: a local mask file or ticket folder, or a Hub repository id.
        token: a Hugging Face token for a private repository.
        cache_dir: the Hub download cache; None for the default.

    Returns:
        The ticket's mask.

    Raises:
        LTHInputError: `source` is neither a local mask nor a reachable Hub repository with one.
    """
    path = Path(source)
    if path.is_dir():
        path = path / MASK_FILE
    if path.exists() or path.suffix == ".safetensors" or str(source).startswith((".", "/", "~")):
        return TicketMask.load(path.expanduser())
    try:
        downloaded = hf_hub_download(str(source), MASK_FILE, token=token, cache_dir=cache_dir)
    except Exception as err:
        raise LTHInputError(
            f"no mask at '{source}': it is neither a local mask file or ticket folder nor a reachable Hub "
            f"repository with {MASK_FILE} ({type(err).__name__})."
        ) from err
    return TicketMask.load(downloaded)


def fit_mask_to_model(mask: TicketMask, model, allow_mismatched: bool = False) -> TicketMask:
    """Check that `mask` fits `model`; with `allow_mismatched`, keep tensors of another shape dense instead.

    Transferring a ticket to a dataset with another number of labels changes the classifier's shape: with
    `--ignore_mismatched_sizes` that layer is re-initialised by `from_pretrained` and starts dense here.

    Args:
        mask: the ticket's mask.
        model (torch.nn.Module): the model the mask is to prune.
        allow_mismatched: keep a tensor whose shape differs from the model's dense instead of failing.

    Returns:
        `mask` itself, or a copy with the mismatched tensors dense.

    Raises:
        LTHInputError: the mask names a parameter the model lacks, or (without `allow_mismatched`) a shape differs.
    """
    if not allow_mismatched:
        mask.check_fits(model, "the initial mask")
        return mask
    import torch

    params = dict(model.named_parameters())
    missing = [name for name in mask if name not in params]
    if missing:
        mask.check_fits(model, "the initial mask")
    return TicketMask({
        name: m if tuple(m.shape) == tuple(params[name].shape) else torch.ones(params[name].shape, dtype=torch.bool)
        for name, m in mask.items()
    })
