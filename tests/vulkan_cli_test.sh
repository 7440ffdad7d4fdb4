#!/usr/bin/env bash
# The programs with --backend vulkan (on lavapipe, which the environment
# below selects): eidetic-generate gives the CPU backend's greedy text on the
# demo model; eidetic-bench runs and reports the backend; a device index that
# does not exist and a machine without a Vulkan driver both fail with a clear
# "error:" line, and the CPU backend still runs where there is no driver;
# --list-devices names the devices, or why there are none.
# Usage: vulkan_cli_test.sh EIDETIC_CONVERT EIDETIC_GENERATE EIDETIC_BENCH DEMO_DIR
set -u
convert=$1
generate=$2
bench=$3
demo=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
lvp=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json
if [ -f "$lvp" ]; then
  export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-$lvp} VK_DRIVER_FILES=${VK_DRIVER_FILES:-$lvp}
fi

"$convert" -q "$demo" -o "$tmp/demo.eid" || fail "conversion failed"

args=(-m "$tmp/demo.eid" -p "The computer" -n 24 --temp 0 -q)
cpu=$("$generate" "${args[@]}" --backend cpu) || fail "cpu generation failed"
gpu=$("$generate" "${args[@]}" --backend vulkan 2>"$tmp/gpu.err") || fail "vulkan generation failed: $(cat "$tmp/gpu.err")"
[ -n "$gpu" ] && [ "$gpu" = "$cpu" ] || fail "vulkan gave '$gpu', cpu gave '$cpu'"

"$bench" -m "$tmp/demo.eid" --backend vulkan -p 33 -n 5 -r 1 -b 16 --json >"$tmp/bench.json" 2>"$tmp/bench.err" ||
  fail "eidetic-bench --backend vulkan failed: $(cat "$tmp/bench.err")"
grep -q '"backend": *"vulkan"' "$tmp/bench.json" || fail "bench output does not name the vulkan backend: $(cat "$tmp/bench.json")"
grep -qE '"device": *"[^"]+, Vulkan 1\.[0-9]+, subgroups of' "$tmp/bench.json" ||
  fail "bench output does not describe the Vulkan device: $(cat "$tmp/bench.json")"

# EIDETIC_VULKAN_PROFILE=1: GPU time per kind of decode step, named by the model's ops.
EIDETIC_VULKAN_PROFILE=1 "$bench" -m "$tmp/demo.eid" --backend vulkan -p 4 -n 3 -r 1 --json >/dev/null 2>"$tmp/profile.err" ||
  fail "eidetic-bench with EIDETIC_VULKAN_PROFILE=1 failed: $(cat "$tmp/profile.err")"
for step in "in_proj matvec_f32" "scan ssd_scan" "out_proj matvec_f32" "lm_head matvec_f32" "step"; do
  grep -q "^{\"vulkan_profile\": \"$step[^\"]*\", \"dispatches_per_token\": [0-9]*, \"us_per_token\": [0-9.]*}$" "$tmp/profile.err" ||
    fail "no profile line for '$step': $(cat "$tmp/profile.err")"
done

"$generate" "${args[@]}" --backend vulkan --device 9 >/dev/null 2>"$tmp/dev.err" && fail "device 9 was accepted"
grep -q "error: Vulkan device 9 does not exist (devices: 0: " "$tmp/dev.err" || fail "device error: $(cat "$tmp/dev.err")"

# No driver: the loader is pointed at a driver list that does not exist.
VK_ICD_FILENAMES=$tmp/none.json VK_DRIVER_FILES=$tmp/none.json \
  "$generate" "${args[@]}" --backend vulkan >/dev/null 2>"$tmp/none.err" && fail "vulkan ran without a driver"
grep -q "error: no Vulkan device found" "$tmp/none.err" || fail "no-driver error: $(cat "$tmp/none.err")"
VK_ICD_FILENAMES=$tmp/none.json VK_DRIVER_FILES=$tmp/none.json \
  "$generate" "${args[@]}" --backend cpu >/dev/null || fail "the cpu backend failed where Vulkan has no driver"

# --list-devices: the CPU kernels and the Vulkan devices, no model needed; without a driver, why none.
"$generate" --list-devices >"$tmp/list.out" 2>&1 || fail "--list-devices exited non-zero: $(cat "$tmp/list.out")"
grep -q '^cpu: CPU, .* kernels$' "$tmp/list.out" && grep -q '^vulkan 0: .*Vulkan 1\.' "$tmp/list.out" ||
  fail "--list-devices: $(cat "$tmp/list.out")"
VK_ICD_FILENAMES=$tmp/none.json VK_DRIVER_FILES=$tmp/none.json "$bench" --list-devices >"$tmp/list0.out" 2>&1 ||
  fail "--list-devices without a driver exited non-zero"
grep -q '^vulkan: no Vulkan device found' "$tmp/list0.out" || fail "--list-devices without a driver: $(cat "$tmp/list0.out")"

if [ "$failures" -ne 0 ]; then
  echo "vulkan_cli_test: $failures failure(s)" >&2
  exit 1
fi
echo "vulkan_cli_test: all checks passed"
