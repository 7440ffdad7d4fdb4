#!/usr/bin/env bash
# Installs the Debian packages Eidetic builds and tests with, if missing.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  flatbuffers-compiler libflatbuffers-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  doctest-dev nlohmann-json3-dev libcli11-dev
  unicode-data bzip2
  # The Vulkan backend (headers, volk, glslc); for its tests, lavapipe (Mesa's
  # software Vulkan, no GPU needed) and the Khronos validation layer.
  libvulkan-dev libvulkan-volk-dev glslc
  mesa-vulkan-drivers vulkan-validationlayers
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
