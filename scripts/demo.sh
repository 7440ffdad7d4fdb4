#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, convert the
# bundled demo model (a Mamba-2 trained on fortune-cookie texts) and generate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
./build/eidetic-convert samples/models/fortune-mamba2 -o build/fortune.eid
./build/eidetic-inspect build/fortune.eid --summary
./build/eidetic-generate -m build/fortune.eid -p "${1:-The computer}" -n "${2:-80}" --seed 7
