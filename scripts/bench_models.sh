#!/usr/bin/env bash
# The README's benchmarks: random-weight models with the exact shapes of
# released ones (eidetic-random-checkpoint, no download), each converted to
# several weight types, then eidetic-bench on all of them, JSON lines on stdout
# (one per model and thread count), progress on stderr.
#
# Usage: scripts/bench_models.sh [WORKDIR] [SHAPES...]
#   WORKDIR  checkpoints and model files (default /tmp/eidetic-bench); kept, so a rerun skips conversion
#   SHAPES   default: mamba-130m mamba2-130m (any eidetic-random-checkpoint shape)
# Environment:
#   EIDETIC_BENCH_QUANTS  weight types (default "f32 f16 q8 q4")
#   EIDETIC_BENCH_ARGS    eidetic-bench arguments (default "-t 1,2 -p 512 -n 128 -r 3")
#   EIDETIC_BIN           folder of the programs (default build)
#   EIDETIC_CKPT_DTYPE    dtype of the random checkpoints (default f32; f16 halves their size)
# The README's tables:
#   scripts/bench_models.sh /tmp/eb                                                   CPU, 130m shapes
#   EIDETIC_BENCH_QUANTS="f16 q8 q4" EIDETIC_BENCH_ARGS="-t 1,2 -p 128 -n 32 -r 3" \
#     scripts/bench_models.sh /tmp/eb mamba-1.4b                                      CPU, bigger than the caches
#   EIDETIC_BENCH_QUANTS="f16 q8 q4" EIDETIC_BENCH_ARGS="--backend vulkan -b 512 -p 512 -n 128 -r 2" \
#     scripts/bench_models.sh /tmp/eb mamba-130m mamba-1.4b mamba2-1.3b                 GPU
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/eidetic-bench}
shift || true
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(mamba-130m mamba2-130m)
read -r -a quants <<<"${EIDETIC_BENCH_QUANTS:-f32 f16 q8 q4}"
read -r -a bench_args <<<"${EIDETIC_BENCH_ARGS:--t 1,2 -p 512 -n 128 -r 3}"
bin=${EIDETIC_BIN:-build}
mkdir -p "$work"
models=()
for shape in "${shapes[@]}"; do
  ckpt="$work/$shape"
  [ -f "$ckpt/config.json" ] ||
    "$bin/eidetic-random-checkpoint" --shape "$shape" --dtype "${EIDETIC_CKPT_DTYPE:-f32}" -o "$ckpt" -q
  for q in "${quants[@]}"; do
    out="$work/$shape-$q.eid"
    [ -f "$out" ] || "$bin/eidetic-convert" "$ckpt" -o "$out" --quant "$q" >&2
    models+=(-m "$out")
  done
done
"$bin/eidetic-bench" "${models[@]}" "${bench_args[@]}" --json
