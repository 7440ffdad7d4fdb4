#!/usr/bin/env bash
# eidetic-logits as a program: convert a fixture, write its logits for the
# reference input_ids by prefill and with --stepwise, and compare both with
# transformers' prefill_logits (logits_compare: |got - ref| <= 1e-4 (1 + |ref|)).
# Usage: logits_cli_test.sh EIDETIC_CONVERT EIDETIC_LOGITS LOGITS_COMPARE FIXTURE_DIR
set -u
convert=$1
logits=$2
compare=$3
fixture=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() {
  echo "FAIL: $*" >&2
  exit 1
}

"$convert" -q "$fixture" -o "$tmp/model.eid" || die "eidetic-convert failed"
ids=$("$compare" ids "$fixture/reference.safetensors") || die "cannot read input_ids"
[ -n "$ids" ] || die "no input_ids"
echo "input_ids: $ids"

"$logits" -m "$tmp/model.eid" --ids "$ids" -o "$tmp/prefill.f32" || die "eidetic-logits (prefill) failed"
"$compare" check "$fixture/reference.safetensors" "$tmp/prefill.f32" || die "prefill logits differ from the reference"

"$logits" -m "$tmp/model.eid" --ids "$ids" --stepwise -o "$tmp/stepwise.f32" || die "eidetic-logits --stepwise failed"
"$compare" check "$fixture/reference.safetensors" "$tmp/stepwise.f32" || die "stepwise logits differ from the reference"

"$logits" -m "$tmp/model.eid" -t 2 --ids "$ids" -o "$tmp/threads.f32" || die "eidetic-logits -t 2 failed"
"$compare" check "$fixture/reference.safetensors" "$tmp/threads.f32" || die "logits with 2 threads differ from the reference"

# The comparison is not vacuous: one corrupted logit, or a short file, is caught.
cp "$tmp/prefill.f32" "$tmp/corrupt.f32"
printf '\x00\x00\x80\x3f' | dd of="$tmp/corrupt.f32" bs=1 seek=4000 conv=notrunc status=none  # 1.0f
"$compare" check "$fixture/reference.safetensors" "$tmp/corrupt.f32" >/dev/null 2>&1 &&
  die "logits_compare accepted a corrupted logit"
head -c 4000 "$tmp/prefill.f32" >"$tmp/short.f32"
"$compare" check "$fixture/reference.safetensors" "$tmp/short.f32" >/dev/null 2>&1 &&
  die "logits_compare accepted a truncated file"

# Bad ids: non-zero exit, "error:" on stderr.
"$logits" -m "$tmp/model.eid" --ids "1,x,3" -o "$tmp/bad.f32" 2>"$tmp/bad.err" && die "--ids 1,x,3 exited 0"
grep -q "error:.*'x' is not a token id" "$tmp/bad.err" || die "unexpected error: $(cat "$tmp/bad.err")"
echo "logits_cli_test: all checks passed"
