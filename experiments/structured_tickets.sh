#!/usr/bin/env bash
# Channel (whole filters) against unstructured tickets on one trunk, paired per seed. Both lines prune the same
# tensors (the convolutions and the classifier; the embedding stays dense), 20% per round for 6 rounds, rewinding
# to step 20 of round 0 (the best rewind on both samples, docs/results.md), so round r of each line keeps about
# the same number of weights. Both controls at round 3 for each; a 2:4 line beside them.
# Usage: bash experiments/structured_tickets.sh experiments/imdb_sample_cnn.json SEED   (runs/NAME_structured_seedSEED)
# Then: python experiments/summarize_structured.py runs/NAME_structured_seed4{2,3,4} --out results/NAME_structured
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
seed=${2:-42}
out=runs/$(basename "$config" .json)_structured_seed$seed
run() {
  python examples/run_lth.py "$config" --seed "$seed" --output_dir "$out" --lth_rewind step:20 --lth_rounds 6 \
    --lth_prune_scope no_embedding --lth_controls random_pruning,random_reinit --lth_control_rounds 3 "$@"
}
run
run --lth_branch channel --lth_granularity channel
run --lth_branch nm24 --lth_granularity 2:4 --lth_rounds 2 --lth_controls ""
