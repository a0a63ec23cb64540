#!/usr/bin/env bash
# One trunk, five paired lines: the main line rewinds to init; branches rewind to step 5 and step 20 of round 0,
# rewind the learning rate (lr) and fine-tune (finetune). Every line prunes 10 rounds (to 89.3%) with both
# controls at rounds 5 and 10; no line retrains round 0. Resumable: rerun the same command to continue.
# Usage: bash experiments/rewinding_branches.sh experiments/imdb_sample_cnn.json SEED   (output: runs/NAME_seedSEED)
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
seed=${2:-42}
out=runs/$(basename "$config" .json)_seed$seed
run() { python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" "$@"; }
run
run --lth_branch step5 --lth_rewind step:5
run --lth_branch step20 --lth_rewind step:20
run --lth_branch lr --lth_rewind lr --lth_controls ""  # their papers' controls are not implemented: refused
run --lth_branch finetune --lth_rewind finetune --lth_controls ""
hf-lth-report "$out"
