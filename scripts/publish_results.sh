#!/usr/bin/env bash
# Copy the results of finished (or partly finished) experiments from runs/ into results/ (committed): the main
# line's lth_results.json and each branch's (branches/NAME/lth_results.json), with the round table and headline
# (report.md) and the plots made by hf-lth-report. Checkpoints, rewind points and tickets stay in runs/
# (git-ignored). Usage: bash scripts/publish_results.sh [runs/NAME ...]   (default: every runs/*/)
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
  for branch in "$run"/branches/*/; do
    [ -f "$branch/lth_results.json" ] || continue
    mkdir -p "results/$name/branches/$(basename "$branch")"
    cp "$branch/lth_results.json" "results/$name/branches/$(basename "$branch")/lth_results.json"
  done
  hf-lth-report "results/$name" > "results/$name/report.md"
  echo "results/$name"
done
