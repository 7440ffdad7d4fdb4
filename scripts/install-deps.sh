#!/usr/bin/env bash
# Installs the Debian packages Eidetic builds and tests with, if missing.
# Idempotent: does nothing (and needs no network) when all are present.
#
#   install-deps.sh            the native build and its tests
#   install-deps.sh --aarch64  also the aarch64 cross build (toolchains/
#                              aarch64-linux-gnu.cmake) and qemu-user to test it
set -euo pipefail

aarch64=false
case "${1:-}" in
  "") ;;
  --aarch64) aarch64=true ;;
  -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

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
  # The tests' format check (scripts/format.sh --check).
  clang-format git
)
$aarch64 && packages+=(g++-aarch64-linux-gnu qemu-user)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The arm64 libraries the cross build links: Debian's packages, downloaded and
# unpacked (not installed: XNNPACK's, pthreadpool's and cpuinfo's amd64 and
# arm64 packages exclude each other) into the folder the toolchain file reads.
# apt reads arm64 package lists of its own, so dpkg's architectures stay as they are.
deps=/opt/eidetic-aarch64
arm64_packages=(libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0)
if $aarch64 && [ ! -f "$deps/.complete" ]; then
  echo "install-deps: unpacking arm64 ${arm64_packages[*]} into $deps"
  work=$(mktemp -d)
  chmod 755 "$work"  # apt downloads as its _apt user
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  apt_arm64=(-q -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists="$work/lists"
             -o Dir::Cache::Archives="$work/archives" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
  apt-get "${apt_arm64[@]}" update >/dev/null
  (cd "$work" && apt-get "${apt_arm64[@]}" download "${arm64_packages[@]}")
  $SUDO rm -rf "$deps"
  for deb in "$work"/*.deb; do $SUDO dpkg-deb -x "$deb" "$deps"; done
  $SUDO touch "$deps/.complete"
fi
