#!/usr/bin/env bash
# The time-to-ticket study on the pretrained transformer, at 80% of the encoder's linear weights: IMP (Chen et al.'s
# protocol, 20% of the original weights per round, 4 rounds, rewinding to the pretrained values), one-shot, GMP and
# early-bird (each one round, rewinding likewise), paired on one dense round. The trunk and IMP line are those of
# pretrained_tickets.sh (its controls are not rerun here). Resumable.
# Usage: bash experiments/time_to_ticket_pretrained.sh experiments/imdb_sample_minilm.json SEED   (runs/NAME_seedSEED)
# Then: python experiments/summarize_time_to_ticket.py runs/NAME_seed4{2,3} --targets 80%=80:4:0 --imp-lines main \
#         --out results/NAME_time_to_ticket
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
seed=${2:-42}
out=runs/$(basename "$config" .json)_seed$seed
run() { python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" --lth_controls "" "$@"; }
run
run --lth_branch oneshot80 --lth_one_shot --lth_target_sparsity 0.8
run --lth_branch gmp80 --lth_method gmp --lth_target_sparsity 0.8 --lth_gmp_frequency 4
run --lth_branch eb80 --lth_method early_bird --lth_target_sparsity 0.8 --lth_eb_interval 4
