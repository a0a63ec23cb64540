#!/usr/bin/env bash
# Copy the results of finished (or partly finished) experiments from runs/ into results/ (committed), with the
# round table (report.md) and the accuracy-vs-sparsity plot made by hf-lth-report. Checkpoints and tickets stay
# in runs/ (git-ignored). Usage: bash scripts/publish_results.sh [runs/NAME ...]   (default: every runs/*/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(runs/*/)
for run in "${runs[@]}"; do
  run=${run%/}
  name=$(basename "$run")
  if [ ! -f "$run/lth_results.json" ]; then
    echo "skip $run: no lth_results.json yet" >&2
    continue
  fi
  mkdir -p "results/$name"
  cp "$run/lth_results.json" "results/$name/lth_results.json"
  hf-lth-report "results/$name" > "results/$name/report.md"
  echo "results/$name"
done
