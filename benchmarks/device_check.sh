#!/usr/bin/env bash
# The GPU measurements of the train step, as one short script for a GPU machine
# whose Python has JAX, flax and optax but neither TensorFlow nor ml_collections, and no network.
#
#   make device-wheels                       # here, once: ml_collections' wheel into .device_wheels/
#   (on the GPU machine, carrying .device_wheels)  bash benchmarks/device_check.sh
#
# Writes the tables to $OUT (default: out/device) and prints them last. About 5 minutes on an
# H100 (most of it compilation); nothing here needs the dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
mkdir -p "$OUT"
PY=${PY:-python3}
if ! $PY -c "import ml_collections" 2>/dev/null; then
  $PY -m pip install --quiet --no-index --no-deps --find-links .device_wheels ml_collections
fi
export PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=3
$PY -c "import jax, flax; print('jax', jax.__version__, 'flax', flax.__version__, jax.devices())" | tee "$OUT/versions.txt"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee -a "$OUT/versions.txt" || true
run() {  # name, command...
  local name=$1; shift
  echo "== $name: $*" >&2
  "$@" > "$OUT/$name.md" 2> "$OUT/$name.log" || echo "FAILED: $name (see $name.log)" >> "$OUT/$name.md"
}
run step_cost_bf16 $PY benchmarks/step_cost.py --dtype bfloat16 --repeats 20
run step_cost_f32 $PY benchmarks/step_cost.py --dtype float32 --repeats 20 --skip_step
run train_steps $PY benchmarks/train.py --repeats 20 --full_repeats 20
for f in "$OUT"/*.md; do echo; echo "### $(basename "$f")"; cat "$f"; done
