#!/usr/bin/env bash
# Cheaper tickets on the trunk of rewinding_branches.sh (run that first: it trains round 0 and IMP-init, step:20,
# lr and finetune). Adds, at IMP's 5th and 10th rounds' sparsities (67.232% and 89.263% of the prunable weights):
# one-shot magnitude pruning, GMP and early-bird (each one round, rewinding to init), and IMP at a per-round
# rate of 42.76% that reaches them in 2 and 4 rounds. No controls here (see the docs for those of the best).
# Usage: bash experiments/time_to_ticket.sh experiments/imdb_sample_cnn.json SEED   (in runs/NAME_seedSEED)
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
seed=${2:-42}
out=runs/$(basename "$config" .json)_seed$seed
run() { python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" --lth_controls "" "$@"; }
for target in 0.67232 0.892626; do
  tag=${target#0.}
  tag=${tag:0:2}
  run --lth_branch "oneshot$tag" --lth_one_shot --lth_target_sparsity "$target"
  run --lth_branch "gmp$tag" --lth_method gmp --lth_target_sparsity "$target" --lth_gmp_frequency 4
  run --lth_branch "eb$tag" --lth_method early_bird --lth_target_sparsity "$target" --lth_eb_interval 4
done
run --lth_branch imp_fast --lth_prune_rate 0.42757 --lth_rounds 4
# Both controls for GMP, the cheapest method within 0.5 points of IMP on the first IMDb seeds (run after seeing that).
if [ "${WITH_GMP_CONTROLS:-0}" = 1 ]; then
  for target in 0.67232 0.892626; do
    tag=${target#0.}
    tag=${tag:0:2}
    python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" --lth_branch "gmp$tag" --lth_method gmp \
      --lth_target_sparsity "$target" --lth_gmp_frequency 4 --lth_controls random_pruning,random_reinit \
      --lth_control_rounds 1
  done
fi
