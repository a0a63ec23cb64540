#!/usr/bin/env bash
# Chen et al. (2020)'s protocol on a pretrained transformer: IMP that rewinds the encoder's linear weights to their
# pretrained values (the new head to its initial values), pruning 20% of the original weights per round to 80%,
# with both controls at 40% and 80%; then their "standard pruning" baseline as a branch on the same dense round
# (prune the fine-tuned weights, no rewinding, and fine-tune on at 0.1x the learning rate). Resumable.
# Usage: bash experiments/pretrained_tickets.sh experiments/imdb_sample_minilm.json SEED  (output: runs/NAME_seedSEED)
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
seed=${2:-42}
out=runs/$(basename "$config" .json)_seed$seed
run() { python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" "$@"; }
run
run --lth_branch standard --lth_rewind finetune --lth_controls ""
hf-lth-report "$out"
