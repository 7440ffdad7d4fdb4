#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite: every test on
# the Release build; the tests that parse untrusted input (model files,
# tokenizer) again under AddressSanitizer + UBSan; then the aarch64 cross
# build (toolchains/aarch64-linux-gnu.cmake) with its tests run in qemu-user,
# so that the NEON kernels are tested on every change.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --aarch64
bash scripts/build.sh build
ctest --test-dir build --output-on-failure -j 2

asan_tests="model_file_test tokenizer_test"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEIDETIC_ASAN=ON >/dev/null
cmake --build build-asan -j "$(nproc)" --target $asan_tests
ctest --test-dir build-asan --output-on-failure -j 2 -R "^(${asan_tests// /|})\$"

bash scripts/build.sh build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake -DEIDETIC_VULKAN=OFF
ctest --test-dir build-aarch64 --output-on-failure -j 2
