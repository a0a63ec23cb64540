"""Go on with a line whose run folder is gone, from its published records (`--lth_resume_from`).

A line longer than a machine's life outlives it only through what was published (`hf-lth-study publish` of a
study with `publish_masks: true`, `hf_lth.engine.line_state`): records, per-example predictions and packed masks,
never weights. Restoring rebuilds the run folder from them:

- round 0's initial weights, from the model as built here (the same settings and seed build the same weights; their
  digest is checked against the published one, and a difference is refused);
- every published round and control as a folder with its record, mask and predictions but no weights
  (`lth_restored.json` says so); each mask is checked against the digest its record holds;
- the mask of the pruned round that was training (its pending mask).

The line then goes on as if it had not stopped: the next pruned round takes the pending mask (the mask it had found
from weights that are gone) and starts from the initial weights, as `init` rewinding does; the controls need only
a ticket's mask and the initial weights. So only the main line, rewound to `init`, with a method whose masks depend
on nothing but the previous round (`LineMethod.restorable`: IMP, one-shot), can be restored.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ..errors import LTHInputError
from ..rewinding.init import RewindToInit
from ..storage.atomic import atomic_dir, write_json_atomic
from ..storage.folder import ExperimentFolder, settings_changes
from .line_state import published_initial_digest, weights_digest
from ..pruning.packed import load_packed_mask
from ..storage.paths import MASK_FILE, PREDICTIONS_FILE, RESTORED_FILE
from ..storage.weights import full_state_dict

logger = logging.getLogger(__name__)


def restore_published_line(engine: Any, published: str | Path) -> list[int]:
    """Rebuild the line of `engine` (an `LTHTrainer` whose folder is claimed) from its published copy `published`,
    unless its run folder holds a finished round already (it is the more complete) or nothing is published yet.

    Returns:
        The rounds restored (empty when there was nothing to do).

    Raises:
        LTHInputError: the line cannot be restored (a branch, another rewinding kind or method, other settings, other
            initial weights) or the published copy lacks what it needs (named in the message).
    """
    folder: ExperimentFolder = engine.folder
    if folder.finished_rounds():
        return []
    source = ExperimentFolder(published)
    if not source.results_path.is_file():
        logger.info("Nothing is published in %s yet: the line starts from round 0.", published)
        return []
    _check_restorable(engine, source)
    results = json.loads(source.results_path.read_text(encoding="utf-8"))
    model = engine.accelerator.unwrap_model(engine.model)
    state = full_state_dict(model)
    _check_initial_weights(state, source)
    rounds = [record["round"] for record in results["rounds"]]
    if engine.args.should_save:
        folder.write_rewind_point(0, state)
        for record in results["rounds"]:
            _restore_round(folder, source, model, record, None)
        for kind, records in results.get("controls", {}).items():
            for record in records:
                _restore_round(folder, source, model, record, kind)
        following = max(rounds) + 1
        if source.published_pending_path(following).is_file():
            load_packed_mask(source.published_pending_path(following)).check_fits(
                model, f"the pending mask of round {following} in {published}")
            folder.pending_mask_path(following).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source.published_pending_path(following), folder.pending_mask_path(following))
        folder.collect_results(engine.args.lth_selection_metric)
    engine.accelerator.wait_for_everyone()
    logger.warning("Restored %s from its published copy %s: rounds %s (records, predictions and masks; no weights).",
                   folder.base, published, rounds)
    return rounds


def _check_restorable(engine: Any, source: ExperimentFolder) -> None:
    args, where = engine.args, source.root
    if args.lth_branch is not None:
        raise LTHInputError(f"--lth_resume_from restores a main line; {args.lth_branch} is a branch.")
    if type(engine.rewind) is not RewindToInit:  # step:K (its subclass) starts from trained weights
        raise LTHInputError(f"--lth_resume_from needs lth_rewind init: with {engine.rewind} a pruned round starts "
                            "from trained weights, which are never published.")
    if not engine.method.restorable:
        raise LTHInputError(f"--lth_resume_from cannot go on with lth_method {engine.method.name}: its masks depend "
                            "on more than the previous round's (only imp and one_shot lines are restored).")
    if not source.settings_path.is_file():
        raise LTHInputError(f"{where} holds records but no {source.settings_path.name}: publish it again.")
    published = json.loads(source.settings_path.read_text(encoding="utf-8"))
    here = json.loads(engine.folder.settings_path.read_text(encoding="utf-8"))
    changes = sorted({key for part in ("trunk", "main") for key in settings_changes(published.get(part), here[part])})
    if changes:
        raise LTHInputError(f"{where} was published from an experiment with other settings ({', '.join(changes)}); "
                            "it cannot go on with these.")


def _check_initial_weights(state: dict, source: ExperimentFolder) -> None:
    published = published_initial_digest(source)
    if published is None:
        raise LTHInputError(f"{source.root} holds no {source.published_initial_weights_path.relative_to(source.root)}"
                            ": it was published without its state (publish_masks: true in the study, then publish "
                            "again from the run folder).")
    built = weights_digest(state)
    if built != published:
        raise LTHInputError(f"the initial weights built here (sha256 {built[:12]}) are not those the line in "
                            f"{source.root} started from ({published[:12]}): another model, seed or library version. "
                            "It cannot go on here.")


def _restore_round(folder: ExperimentFolder, source: ExperimentFolder, model, record: dict,
                   control: str | None) -> None:
    index = record["round"]
    what = f"round {index}" + (f" ({control})" if control else "")
    mask_path = source.published_mask_path(index, control)
    if not mask_path.is_file():
        raise LTHInputError(f"{source.root} lacks the mask of {what} ({mask_path}): publish it with publish_masks.")
    mask = load_packed_mask(mask_path)
    if mask.digest() != record["mask_sha256"]:
        raise LTHInputError(f"{mask_path} is not the mask of {what} that {source.results_path} records.")
    mask.check_fits(model, f"the mask of {what} in {source.root}")
    predictions = source.published_predictions_path(index, control)
    if not predictions.is_file():
        raise LTHInputError(f"{source.root} lacks the predictions of {what} ({predictions}).")
    model.config.lth = record
    with atomic_dir(folder.round_dir(index, control)) as tmp:
        model.config.save_pretrained(tmp)
        mask.save(tmp / MASK_FILE)
        shutil.copy2(predictions, tmp / PREDICTIONS_FILE)
        write_json_atomic(tmp / RESTORED_FILE, {"restored_from": str(source.root), "weights": None})
