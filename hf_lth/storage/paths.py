"""Every file and folder name of an experiment folder, in one place (open_lth's `foundations/paths.py`).

Only these names and `hf_lth.storage.folder.ExperimentFolder`, which joins them into paths, build a path into an
experiment (or into its published copy, `hf_lth.study.publish`); nothing else writes a file name by hand. This
module imports nothing, so that light commands (`hf-lth-report`) use it too.

    OUTPUT_DIR/
      lth_experiment.json  round_00/  rewind_points/step_000000.safetensors  checkpoints/round_01/checkpoint-3/
      round_01/ ...  controls/KIND/round_01/  lth_results.json  report.md  accuracy_vs_sparsity.png  branches.png
      branches/NAME/lth_branch.json ...       early_bird_search/ (scratch, while an early-bird search runs)
    a round folder: config.json  model.safetensors (or model.compact.safetensors)  lth_mask.safetensors
      lth_predictions.safetensors  lth_log_history.json  tokenizer files
      pending_masks/round_02.safetensors     the mask of the pruned round being trained (packed; gone once it is)
    a restored round folder (`hf_lth.engine.restore`): config.json  lth_mask.safetensors  lth_predictions.safetensors
      lth_restored.json (no weights)
    a published line: lth_results.json  report.md  plots  predictions/round_01.safetensors  predictions/KIND_round_01...
      and, for a study that publishes its masks: state/initial_weights.json  state/masks/round_01.safetensors
      state/masks/KIND_round_01.safetensors  state/pending/round_02.safetensors  (packed masks)
"""

from __future__ import annotations

# The experiment and its lines
SETTINGS_FILE = "lth_experiment.json"
BRANCH_FILE = "lth_branch.json"
RESULTS_FILE = "lth_results.json"
REPORT_FILE = "report.md"
PLOT_FILE = "accuracy_vs_sparsity.png"
BRANCHES_PLOT_FILE = "branches.png"
BRANCHES_DIR = "branches"
CONTROLS_DIR = "controls"
REWIND_DIR = "rewind_points"
CHECKPOINTS_DIR = "checkpoints"
SEARCH_DIR = "early_bird_search"
PENDING_MASKS_DIR = "pending_masks"
# A round folder (besides transformers' config.json, weights and tokenizer files)
CONFIG_FILE = "config.json"
MASK_FILE = "lth_mask.safetensors"
PREDICTIONS_FILE = "lth_predictions.safetensors"
LOG_HISTORY_FILE = "lth_log_history.json"
DENSE_WEIGHTS_FILE = "model.safetensors"
COMPACT_WEIGHTS_FILE = "model.compact.safetensors"
RESTORED_FILE = "lth_restored.json"
# Trainer's checkpoints: `checkpoint-STEP` folders, of which trainer_state.json is written last
CHECKPOINT_PREFIX = "checkpoint"  # transformers.trainer_utils.PREFIX_CHECKPOINT_DIR
TRAINER_STATE_FILE = "trainer_state.json"
# A published line (`hf_lth.study.publish`)
PUBLISHED_PREDICTIONS_DIR = "predictions"
PUBLISHED_STATE_DIR = "state"  # what a line needs to go on without its run folder (`hf_lth.engine.line_state`)
PUBLISHED_MASKS_DIR = "masks"
PUBLISHED_PENDING_DIR = "pending"
INITIAL_WEIGHTS_FILE = "initial_weights.json"


def round_name(index: int) -> str:
    """A round's folder: `round_03`."""
    return f"round_{index:02d}"


def rewind_point_name(step: int) -> str:
    """The file of round 0's weights after optimizer step `step`: `step_000050.safetensors`."""
    return f"step_{step:06d}.safetensors"


def checkpoint_name(step: int) -> str:
    """Trainer's checkpoint folder of step `step`: `checkpoint-50`."""
    return f"{CHECKPOINT_PREFIX}-{step}"


def round_checkpoints_name(index: int, control: str | None = None) -> str:
    """A round's folder of Trainer checkpoints under `checkpoints/`: `round_03` or `random_pruning_round_03`."""
    return round_name(index) if control is None else f"{control}_{round_name(index)}"


def plot_name(split: str = "test") -> str:
    """The accuracy-versus-sparsity plot of `split`: `accuracy_vs_sparsity.png` (test), `..._eval.png`."""
    return PLOT_FILE if split == "test" else PLOT_FILE.replace(".png", f"_{split}.png")


def published_predictions_name(index: int, control: str | None = None) -> str:
    """A round's predictions in a published line's `predictions/`: `round_03.safetensors`, `KIND_round_03...`."""
    return f"{round_checkpoints_name(index, control)}.safetensors"
