#!/usr/bin/env bash
# Exercise the TPU code path for real on this CPU: torch-xla with PJRT_DEVICE=CPU gives a genuine XLA device.
#
#   bash scripts/test_xla.sh            # creates the venv on first use (about 7 GB), then runs the smoke test
#
# torch-xla 2.9.0 only works with torch 2.9.0, so it lives in its own virtual environment
# ($HF_LTH_XLA_VENV, default /tmp/hf_lth_xla_venv), never in the main one: the main CI stays free of torch-xla.
# The smoke test (scripts/xla_smoke.py) trains a tiny TextCNN for two LTH rounds on the XLA device and checks
# that the masks live on the device, that the per-step path makes no host transfer, and that the number of
# graph compilations does not grow with the number of steps.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${HF_LTH_XLA_VENV:-/tmp/hf_lth_xla_venv}"
TORCH_VERSION="2.9.0"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import torch, torch_xla, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    # PyPI's torch 2.9.0 for Linux is the CUDA build (it brings the nvidia-* wheels): hence the 7 GB.
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION" "torch-xla==$TORCH_VERSION"
fi
# hf_lth and its other dependencies, with torch held at the release torch-xla was built for.
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==%s\ntorch-xla==%s\n' "$TORCH_VERSION" "$TORCH_VERSION" > "$CONSTRAINTS"
if ! "$PY" -c "import hf_lth.engine.trainer" 2>/dev/null; then  # the package itself imports lazily: check a real module
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" -e "$ROOT"
fi
"$PY" -c "import torch, torch_xla; print('torch', torch.__version__, '| torch_xla', torch_xla.__version__)"

export PJRT_DEVICE=CPU
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$PY" "$ROOT/scripts/xla_smoke.py" "$@"
