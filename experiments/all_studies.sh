#!/usr/bin/env bash
# Every study of issues 21 and 22, in the order they run on the 2-core CPU machine: the bf16 parity and the sample
# restatement first (minutes), then the full-size studies (hours; they outlast a session: run this again to
# continue where they were cut). Two processes of one thread each (one thread a process is the fastest here).
# Each seed's records are published under results/ as its lines finish (`--publish`); a seed published in full whose
# runs/ folder is gone (a fresh machine) is skipped, not retrained. Then
#   hf-lth-study report experiments/studies/NAME.yaml     -> results/NAME.md and results/NAME.png
set -euo pipefail
cd "$(dirname "$0")/.."
studies=(imdb_sample_cnn_bf16 imdb_sample_cnn imdb_cnn_full yelp5_cnn_full yelp5_sample_cnn imdb_cnn_full_fp32
         imdb_sample_cnn_time_to_ticket
         imdb_lstm_full imdb_lstm_full_fp32 imdb_rnn_full imdb_minilm_cpu imdb_minilm_cpu_fp32)
files=(); for s in "${studies[@]}"; do files+=("experiments/studies/$s.yaml"); done
exec hf-lth-study run "${files[@]}" --jobs 2 --publish "$@"
