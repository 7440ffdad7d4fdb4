#!/usr/bin/env bash
# The CPU benchmark of the README, beside llama.cpp's figures in the same
# shapes and bit widths: random-weight models with the exact shapes of
# mamba-130m and mamba2-130m (eidetic-random-checkpoint, no download), each
# converted to f32, f16, q8 and q4, then eidetic-bench with 1 and 2 threads.
#
# Usage: scripts/bench_cpu.sh [WORKDIR] [SHAPES...]
#   WORKDIR  where checkpoints and model files go (default /tmp/eidetic-bench)
#   SHAPES   default: mamba-130m mamba2-130m (any eidetic-random-checkpoint shape)
# Needs a build in build/ (scripts/build.sh). Prints eidetic-bench's JSON lines
# (one per model and thread count) on stdout, progress on stderr.
# Bigger shapes: EIDETIC_BENCH_ARGS="-p 128 -n 32" scripts/bench_cpu.sh /tmp/b mamba-1.4b
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/eidetic-bench}
shift || true
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(mamba-130m mamba2-130m)
quants=(${EIDETIC_BENCH_QUANTS:-f32 f16 q8 q4})
mkdir -p "$work"
models=()
for shape in "${shapes[@]}"; do
  ckpt="$work/$shape"
  [ -f "$ckpt/config.json" ] || ./build/eidetic-random-checkpoint --shape "$shape" -o "$ckpt" -q
  for q in "${quants[@]}"; do
    out="$work/$shape-$q.eid"
    [ -f "$out" ] || ./build/eidetic-convert "$ckpt" -o "$out" --quant "$q" >&2
    models+=(-m "$out")
  done
done
# shellcheck disable=SC2086
./build/eidetic-bench "${models[@]}" -t 1,2 ${EIDETIC_BENCH_ARGS:--p 512 -n 128} -r 3 --json
