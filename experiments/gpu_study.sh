#!/usr/bin/env bash
# Issue 22 §3: a full-IMDb lottery-ticket study of the pretrained all-MiniLM-L6-v2 on one GPU, in ~8 minutes.
#
# Protocol (Chen et al., 2020, as hf_lth runs it for a pretrained checkpoint): IMP on the encoder's linear weights
# (Q, K, V, attention output, FFN in and out), global magnitude, 10% of the ORIGINAL weights per round
# (--lth_prune_schedule linear --lth_prune_rate 0.1) for 6 rounds to 60%, survivors rewound to the pretrained
# values (--lth_rewind init; the new head to its initial values); controls random_pruning and random_reinit at
# round 6 (and at round 3 too with GPU_STUDY_EXTRA_CONTROL_ROUNDS=3: a second phase that resumes the same folders).
# Data: the full IMDb train split (25,000 -> 17,500 train / 7,500 validation, validation_split_percentage 30, as
# experiments/imdb_cnn.json) and the 25,000-review test split, max_seq_length 256. Fine-tuning: learning rate 2e-5,
# batch 32, linear decay, no warmup, no weight decay (Chen et al.'s GLUE settings; 2 epochs, not 3: see Sizing),
# bf16 autocast over float32 master weights, evaluation
# batch 512, no evaluation or checkpoint within a round. Seeds 42, 43, 44 as three processes sharing the GPU.
#
# Sizing (one H200, three processes; estimates, not measurements):
#   17,500 train rows / batch 32 = 547 steps per epoch. Per seed: dense + 6 pruned rounds + 2 controls = 9 rounds.
#   A step (32 x 256 tokens, 10.6M encoder weights) is ~5.8e11 FLOPs, ~1.5 ms of bf16 matmuls on an H200; with the
#   memory-bound element-wise work and ~600 small kernels, ~6 ms of GPU time, and ~15 ms of Python and kernel
#   launches on the CPU. Three processes take turns on the GPU (no MPS): ~max(15, 3 x 6) ms + switching = ~25 ms
#   a step for each.
#   Evaluation: 7,500 + 25,000 reviews / 512 = 64 batches, ~4 s a round; saving the round ~1 s.
#   3 epochs: 1,641 steps x 25 ms = 41 s + 5 s = 46 s a round x 9 = 414 s + ~30 s start-up = ~445 s > 420 s.
#   2 epochs: 1,094 steps x 25 ms = 27 s + 5 s = 32 s a round x 9 = 290 s + ~30 s start-up = ~320 s <= 420 s.
#   So 2 epochs. A round cut by the deadline is lost, finished ones are kept.
# Measured on 2026-12-04 (results/imdb_minilm_gpu/logs): set-up 42 s, then 33-40 s a round (32 ms a step): the
#   dense round, 6 pruned rounds and the random-pruning control took ~373 s a seed, and the random re-initialisation
#   control, started ~5 s before the then 420 s deadline, was cut in all three seeds. So the deadline is 500 s
#   (42 + 9 rounds x ~40 s = ~405 s, ~95 s to spare) and the round-3 controls are off by default
#   (GPU_STUDY_EXTRA_CONTROL_ROUNDS=3 turns them on when a longer budget is given); run it with timeout_s >= 560.
#
# Deviations, recorded in the packed records: the pretrained weight matrices were rounded to float16 for transport
# (.gpu/minilm/fp16_rounding.json: max relative error 4.9e-4 in float16's normal range, max absolute 9.8e-4, 23,119
# subnormal values, 10 of 22.7M values below 3e-8 rounded to 0; biases and LayerNorm kept in float32); training
# upcasts them to float32, and the rewind point is these upcast values. The reviews were cut after the word holding
# their 256th token, which leaves every input_ids unchanged (checked on all 50,000 rows by gpu_assets.py).
#
# Each seed runs `python3 -m hf_lth.run FLAGS` (GPU_STUDY_DRY_RUN=1 prints them), logs to runs/imdb_minilm_gpu_logs/.
# Usage (the GPU machine: no network, python3, torch and transformers but not datasets/evaluate; $OUT comes back):
#   python experiments/gpu_assets.py            # here, once: builds .gpu/ (model, data, wheels), ~51 MiB
#   bash experiments/gpu_study.sh               # there: runs, then packs $OUT/gpu_study.tar.gz (no weights),
#                                               # env.txt and the logs, even when cut by the deadline
#   python experiments/unpack_gpu_study.py gpu_study.tar.gz   # here: results/imdb_minilm_gpu_seed4X
# Rerunning on the same runs/ resumes: finished rounds are skipped.
# Environment: GPU_STUDY_SECONDS (study deadline, default 500), GPU_STUDY_SEEDS ("42 43 44"), GPU_STUDY_EPOCHS (2),
#   GPU_STUDY_EXTRA_CONTROL_ROUNDS (empty, the default: none; 3: controls at round 3 too, a second phase run when
#   time is left), GPU_STUDY_THREADS (torch threads per process, 2; each
#   process also has 2 DataLoader workers: 3 x (1 + 2) busy processes on the 16 cores),
#   GPU_STUDY_DRY_RUN=1 (print the commands and stop), GPU_STUDY_TINY=1 (a CPU-sized stand-in for the test:
#   a tiny random BERT, 100 sample reviews of 32 tokens, 2 rounds of 30% to 60%, seeds 42 43, no bf16, under a
#   temporary folder; tests/test_gpu_study.py runs it with one seed), OUT, PYTHON (python3), GPU_STUDY_ASSETS (.gpu), GPU_STUDY_RUNS (runs).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
TINY=${GPU_STUDY_TINY:-0}
DRY=${GPU_STUDY_DRY_RUN:-0}
STARTED=$SECONDS
NAME=imdb_minilm_gpu

if [ "$TINY" = 1 ]; then
  WORK=${GPU_STUDY_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_study_tiny.XXXXXX")}
  OUT=${OUT:-$WORK/out}
  ASSETS=${GPU_STUDY_ASSETS:-$WORK/assets}
  RUNS=${GPU_STUDY_RUNS:-$WORK/runs}
  SEEDS=${GPU_STUDY_SEEDS:-42 43}
  BUDGET=${GPU_STUDY_SECONDS:-300}
  EPOCHS=${GPU_STUDY_EPOCHS:-1}
  RATE=0.3 ROUNDS=2 EXTRA=${GPU_STUDY_EXTRA_CONTROL_ROUNDS-1}
  SIZE=(--max_seq_length 32 --per_device_train_batch_size 8 --per_device_eval_batch_size 64 --logging_steps 5
        --dataloader_num_workers 0 --dataloader_pin_memory false)
else
  OUT=${OUT:-$REPO/runs/gpu_study_out}  # the GPU machine sets $OUT
  ASSETS=${GPU_STUDY_ASSETS:-.gpu}
  RUNS=${GPU_STUDY_RUNS:-runs}
  SEEDS=${GPU_STUDY_SEEDS:-42 43 44}
  BUDGET=${GPU_STUDY_SECONDS:-500}
  EPOCHS=${GPU_STUDY_EPOCHS:-2}
  RATE=0.1 ROUNDS=6 EXTRA=${GPU_STUDY_EXTRA_CONTROL_ROUNDS-}
  SIZE=(--max_seq_length 256 --per_device_train_batch_size 32 --per_device_eval_batch_size 512 --logging_steps 100
        --dataloader_num_workers 2 --preprocessing_num_workers 4 --bf16 true)
fi
MODEL=$RUNS/gpu_study_assets/minilm  # unpacked from $ASSETS/minilm
LOGS=$RUNS/${NAME}_logs
THREADS=${GPU_STUDY_THREADS:-$([ "$TINY" = 1 ] && echo 1 || echo 2)}  # torch threads a process; more than the cores and OpenMP spins
DEADLINE=$((STARTED + BUDGET))

COMMON=(
  --model_name_or_path "$MODEL"
  --train_file "$ASSETS/imdb/train.parquet" --test_file "$ASSETS/imdb/test.parquet"
  --validation_split_percentage 30
  "${SIZE[@]}"
  --num_train_epochs "$EPOCHS" --learning_rate 2e-5 --warmup_steps 0 --weight_decay 0.0
  --eval_strategy no --save_strategy no --disable_tqdm true
  --lth_rounds "$ROUNDS" --lth_prune_schedule linear --lth_prune_rate "$RATE" --lth_strategy global_magnitude
  --lth_rewind init --lth_controls random_pruning,random_reinit
)
command_for() {  # SEED CONTROL_ROUNDS -> the command (hf_lth's entry point), one word per line
  printf '%s\n' "$PY" -m hf_lth.run "${COMMON[@]}" --seed "$1" --output_dir "$RUNS/${NAME}_seed$1" \
    --lth_control_rounds "$2"
}
PHASE1_CONTROLS=$ROUNDS
PHASE2_CONTROLS=${EXTRA:+$EXTRA,$ROUNDS}

if [ "$DRY" = 1 ]; then
  echo "# epochs $EPOCHS, $ROUNDS rounds of $RATE (linear) to $(awk "BEGIN{print $ROUNDS*$RATE*100}")% sparsity, budget ${BUDGET}s"
  for seed in $SEEDS; do
    echo "# phase 1, seed $seed"; mapfile -t cmd < <(command_for "$seed" "$PHASE1_CONTROLS"); printf '%q ' "${cmd[@]}"; echo
  done
  if [ -n "$PHASE2_CONTROLS" ]; then
    for seed in $SEEDS; do
      echo "# phase 2 (if time is left), seed $seed"; mapfile -t cmd < <(command_for "$seed" "$PHASE2_CONTROLS")
      printf '%q ' "${cmd[@]}"; echo
    done
  fi
  exit 0
fi

mkdir -p "$OUT" "$LOGS" "$RUNS"
DRIVER_LOG=$LOGS/gpu_study.log
WALL=$LOGS/wall_times.txt
log() { echo "[$(date -u +%H:%M:%S) +$((SECONDS - STARTED))s] $*" | tee -a "$DRIVER_LOG"; }
gpu_name() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1 \
    || echo "no nvidia-smi (CPU)"
}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 TOKENIZERS_PARALLELISM=false \
  MPLBACKEND=Agg PYTHONUNBUFFERED=1 HF_DATASETS_CACHE=${HF_DATASETS_CACHE:-$RUNS/hf_datasets_cache}

pack() {  # every run's records without weights -> $OUT/gpu_study.tar.gz; logs and env.txt -> $OUT
  trap - EXIT
  set +e
  log "packing into $OUT"
  local stage dirs=() d
  stage=$(mktemp -d "${TMPDIR:-/tmp}/gpu_study_pack.XXXXXX")
  mkdir -p "$stage/gpu_study/logs"
  for seed in $SEEDS; do
    d=$RUNS/${NAME}_seed$seed
    [ -f "$d/lth_results.json" ] && dirs+=("$d")
  done
  if [ ${#dirs[@]} -gt 0 ]; then  # reports of runs cut before hf_lth.run wrote theirs, and the seeds' summary
    timeout 60 "$PY" - "$stage/gpu_study/${NAME}_seeds" "${dirs[@]}" >> "$DRIVER_LOG" 2>&1 <<'EOF' || log "reports failed"
import contextlib, sys
from pathlib import Path
from hf_lth.report.cli import main, write_report
summary, dirs = sys.argv[1], sys.argv[2:]
for d in dirs:
    report = Path(d, "report.md")
    if not report.is_file() or report.stat().st_mtime < Path(d, "lth_results.json").stat().st_mtime:
        write_report(d)
if len(dirs) > 1:
    with open(summary + ".md", "w") as f, contextlib.redirect_stdout(f):
        main([*dirs, "--seeds", "--plot", summary + ".png"])
EOF
  fi
  for seed in $SEEDS; do  # the records: json, markdown, plots, predictions; no weights, masks or tokenizers
    d=$RUNS/${NAME}_seed$seed
    [ -d "$d" ] || continue
    (cd "$RUNS" && find "${NAME}_seed$seed" -type f \( -name '*.json' -o -name '*.md' -o -name '*.png' \
        -o -name '*predictions*' -o -name '*.log' -o -name '*.txt' -o -name '*.csv' \) \
        ! -name 'tokenizer*.json' ! -name 'special_tokens_map.json' ! -path '*/rewind_points/*' -print0 \
      | tar -cf - --null -T - | tar -xf - -C "$stage/gpu_study")
  done
  cp "$ASSETS/assets.json" "$stage/gpu_study/assets.json" 2>/dev/null
  cp "$ASSETS/minilm/fp16_rounding.json" "$stage/gpu_study/fp16_rounding.json" 2>/dev/null
  {
    echo "gpu_study.sh: tiny=$TINY seeds=[$SEEDS] epochs=$EPOCHS rounds=$ROUNDS rate=$RATE budget=${BUDGET}s"
    echo "started $START_DATE, packed $(date -u +%FT%TZ), wall $((SECONDS - STARTED)) s"
    echo "python deps: ${DEPS_NOTE:-already importable}"
    echo; echo "== per-seed wall times"; cat "$WALL" 2>/dev/null
    echo; echo "== versions"; cat "$LOGS/versions.txt" 2>/dev/null
    echo; echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "no nvidia-smi"
    echo; echo "== runs"; du -sh "$RUNS"/${NAME}_seed* 2>/dev/null
  } > "$OUT/env.txt"
  cp "$OUT/env.txt" "$stage/gpu_study/env.txt"
  cp "$LOGS"/*.log "$LOGS"/*.txt "$stage/gpu_study/logs/" 2>/dev/null
  tar -czf "$OUT/gpu_study.tar.gz" -C "$stage" gpu_study
  for f in "$LOGS"/*.log; do tail -c 15000000 "$f" > "$OUT/$(basename "$f")"; done
  rm -rf "$stage"
  log "packed $(du -h "$OUT/gpu_study.tar.gz" | cut -f1) into $OUT/gpu_study.tar.gz"
  ls -la "$OUT"
}
START_DATE=$(date -u +%FT%TZ)
trap pack EXIT
log "gpu_study.sh start: tiny=$TINY seeds=[$SEEDS] budget=${BUDGET}s GPU: $(gpu_name)"

# --- the Python packages this machine lacks (datasets, evaluate, ...), from $ASSETS/wheels ---------------------
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
SMOKE='import datasets, evaluate, hf_lth.engine.metrics as m; m.load_metric("accuracy"); m.load_metric("f1")'
install_wheels() {  # SITE WHEEL... : pip install --target; without pip, unzip them (pure-Python wheels)
  local site=$1; shift
  if "$PY" -m pip --version > /dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$@" >> "$DRIVER_LOG" 2>&1
  else
    for w in "$@"; do "$PY" -m zipfile -e "$w" "$site"; done
  fi
}
missing_module() { "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is not None)' "$1"; }
if missing_module datasets || missing_module evaluate; then
  SITE=${GPU_STUDY_SITE:-/tmp/site}
  rm -rf "$SITE"
  missing=()
  for whl in "$ASSETS"/wheels/*.whl; do  # these wheels' distribution names are their module names
    mod=$(basename "$whl" | cut -d- -f1)
    if missing_module "$mod"; then missing+=("$whl"); fi
  done
  case " ${missing[*]##*/} " in  # multiprocess 0.70.19 needs dill >= 0.4.1: ship them together
    *" multiprocess-"*) case " ${missing[*]##*/} " in *" dill-"*) ;; *) missing+=("$ASSETS"/wheels/dill-*.whl) ;; esac ;;
  esac
  log "installing ${#missing[@]} wheels into $SITE: ${missing[*]##*/}"
  install_wheels "$SITE" "${missing[@]}"
  export PYTHONPATH=$SITE:$PYTHONPATH
  DEPS_NOTE="installed into $SITE: ${missing[*]##*/}"
  if ! "$PY" -c "$SMOKE" >> "$DRIVER_LOG" 2>&1; then
    log "datasets from wheels/ does not work here (see above): installing wheels-fallback/ instead"
    rm -rf "$SITE"/datasets "$SITE"/datasets-*.dist-info
    install_wheels "$SITE" "$ASSETS"/wheels-fallback/*.whl
    DEPS_NOTE="$DEPS_NOTE; then the fallback $(ls "$ASSETS"/wheels-fallback)"
  fi
fi
if [ "$TINY" = 1 ] && [ ! -f "$ASSETS/assets.json" ]; then  # built while the environment is checked
  "$PY" experiments/gpu_assets.py --tiny --out "$ASSETS" >> "$LOGS/tiny_assets.txt" 2>&1 &
  TINY_ASSETS_PID=$!
fi
"$PY" - > "$LOGS/versions.txt" 2>&1 <<'EOF'
import platform, torch, transformers, accelerate, tokenizers, datasets, evaluate, hf_lth.engine.metrics as m
m.load_metric("accuracy"); m.load_metric("f1")
print("python", platform.python_version(), "| torch", torch.__version__, "| transformers", transformers.__version__,
      "| accelerate", accelerate.__version__, "| tokenizers", tokenizers.__version__, "| datasets", datasets.__version__,
      "| evaluate", evaluate.__version__)
print("cuda", torch.version.cuda, "| device:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU",
      "| bf16:", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
EOF
rc=$?
cat "$LOGS/versions.txt" | tee -a "$DRIVER_LOG"
if [ $rc -ne 0 ]; then log "the Python environment does not work (above)"; exit 3; fi
if [ "$TINY" != 1 ] && ! grep -q "bf16: True" "$LOGS/versions.txt"; then log "no GPU with bf16 here: stopping"; exit 3; fi

# --- the model: unpack the packed float16 weights into a from_pretrained folder -----------------------------------
if [ -n "${TINY_ASSETS_PID:-}" ] && ! wait "$TINY_ASSETS_PID"; then log "tiny assets failed: $LOGS/tiny_assets.txt"; exit 3; fi
"$PY" experiments/gpu_assets.py --out "$ASSETS" --unpack "$(dirname "$MODEL")" 2>&1 | tee -a "$DRIVER_LOG"
[ -f "$MODEL/model.safetensors" ] || { log "no model at $MODEL"; exit 3; }

# --- the study: the seeds in parallel, under the deadline -------------------------------------------------------
run_phase() {  # PHASE CONTROL_ROUNDS SEED... ; sets PHASE_WALL (the slowest seed's seconds)
  local phase=$1 controls=$2 seed pids=() t0=$SECONDS left
  shift 2
  left=$((DEADLINE - SECONDS))
  PHASE_OK=() PHASE_WALL=0
  if [ "$left" -lt 10 ]; then log "phase $phase skipped: ${left}s left"; return; fi
  log "phase $phase: seeds [$*], controls at rounds $controls, ${left}s left"
  for seed in "$@"; do
    (
      slog=$LOGS/seed$seed.log
      { echo "=== phase $phase, seed $seed, $(date -u +%FT%TZ), deadline in ${left}s"; echo "GPU: $(gpu_name)"; } >> "$slog"
      mapfile -t cmd < <(command_for "$seed" "$controls")
      printf '%q ' "${cmd[@]}" >> "$slog"; echo >> "$slog"
      s0=$SECONDS
      OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS timeout -k 20 "$left" "${cmd[@]}" >> "$slog" 2>&1
      rc=$?
      echo "=== phase $phase, seed $seed: rc $rc, $((SECONDS - s0)) s" >> "$slog"
      echo "phase $phase seed $seed rc=$rc wall_s=$((SECONDS - s0))" >> "$WALL"
      exit $rc
    ) &
    pids+=($!)
  done
  local i=0
  for seed in "$@"; do
    if wait "${pids[$i]}"; then PHASE_OK+=("$seed"); fi
    i=$((i + 1))
  done
  PHASE_WALL=$((SECONDS - t0))
  log "phase $phase done in ${PHASE_WALL}s; finished: [${PHASE_OK[*]}]"
}

# shellcheck disable=SC2086
run_phase 1 "$PHASE1_CONTROLS" $SEEDS
if [ -n "$PHASE2_CONTROLS" ] && [ ${#PHASE_OK[@]} -gt 0 ]; then
  per_round=$((PHASE_WALL / (ROUNDS + 3)))  # 9 rounds in phase 1 (start-up included: an over-estimate)
  left=$((DEADLINE - SECONDS))
  if [ "$left" -gt $((per_round + 30)) ]; then
    run_phase 2 "$PHASE2_CONTROLS" "${PHASE_OK[@]}"
  else
    log "phase 2 skipped: ${left}s left, one control round takes ~${per_round}s + ~30s start-up"
  fi
fi
log "study done after $((SECONDS - STARTED))s"
