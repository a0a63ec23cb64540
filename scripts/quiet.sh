#!/usr/bin/env bash
# Run a command on a quiet machine: pause the background studies (SIGSTOP), run it, resume them (SIGCONT), even
# when the command fails or is interrupted. Speed benchmarks need this: a study beside them skews every figure.
# Usage: bash scripts/quiet.sh python benchmarks/bench_inference.py ...
set -uo pipefail
pattern='hf_lth.run experiments/|hf-lth-study run'
resume() { pkill -CONT -f "$pattern" || true; echo "[quiet] studies resumed" >&2; }
trap resume EXIT INT TERM
pkill -STOP -f "$pattern" && echo "[quiet] studies paused" >&2
sleep 2
"$@"
