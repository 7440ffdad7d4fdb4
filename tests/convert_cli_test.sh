#!/usr/bin/env bash
# eidetic-convert as a program: --help, a good conversion (read back with
# eidetic-inspect), and failures that exit non-zero with "error:" on stderr
# and leave no output behind.
# Usage: convert_cli_test.sh EIDETIC_CONVERT EIDETIC_INSPECT FIXTURE_DIR
set -u
convert=$1
inspect=$2
fixture=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# run NAME CMD...: stdout to $tmp/NAME.out, stderr to $tmp/NAME.err, status to $rc.
run() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}

# --help: exit 0, and the supported model types listed.
run help "$convert" --help
[ "$rc" -eq 0 ] || fail "--help exited $rc"
types_line=$(grep 'Supported model types:' "$tmp/help.out")
[ -n "$types_line" ] || fail "--help does not list the supported model types"
for t in mamba falcon_mamba mamba2; do
  echo "$types_line" | grep -qw -- "$t" || fail "--help does not mention model type $t: '$types_line'"
done

# A good conversion: exit 0, the file is there, inspect shows the architecture.
model_type=$(sed -n 's/.*"model_type": *"\([^"]*\)".*/\1/p' "$fixture/config.json")
[ -n "$model_type" ] || fail "no model_type in $fixture/config.json"
run convert "$convert" "$fixture" -o "$tmp/model.eid"
[ "$rc" -eq 0 ] || fail "converting $fixture exited $rc: $(cat "$tmp/convert.err")"
[ -s "$tmp/model.eid" ] || fail "no output file"
grep -q "wrote $tmp/model.eid: $model_type" "$tmp/convert.err" || fail "no 'wrote' line: $(cat "$tmp/convert.err")"
ls "$tmp" | grep -qE '\.(partial|tmp)$' && fail "temporary files left behind: $(ls "$tmp")"
run inspect "$inspect" "$tmp/model.eid"
[ "$rc" -eq 0 ] || fail "inspect exited $rc: $(cat "$tmp/inspect.err")"
grep -qE "^architecture +$model_type\$" "$tmp/inspect.out" || fail "inspect does not show architecture $model_type"
grep -qE ' f32 ' "$tmp/inspect.out" || fail "inspect shows no f32 tensors"

# Quiet, and with f16 matrices: nothing on stderr, inspect shows f16 tensors.
run convert16 "$convert" -q --quant f16 "$fixture" -o "$tmp/model16.eid"
[ "$rc" -eq 0 ] || fail "--quant f16 exited $rc: $(cat "$tmp/convert16.err")"
[ -s "$tmp/convert16.err" ] && fail "-q still wrote to stderr: $(cat "$tmp/convert16.err")"
run inspect16 "$inspect" "$tmp/model16.eid"
[ "$rc" -eq 0 ] || fail "inspect of the f16 model exited $rc"
grep -qE '^architecture' "$tmp/inspect16.out" && grep -qE ' f16 ' "$tmp/inspect16.out" ||
  fail "inspect shows no f16 tensors in the --quant f16 model"

# q8 and q4: inspect shows the quantized matrices beside the f32 small parameters.
for q in q8 q4; do
  run "convert$q" "$convert" -q --quant $q "$fixture" -o "$tmp/model$q.eid"
  [ "$rc" -eq 0 ] || fail "--quant $q exited $rc: $(cat "$tmp/convert$q.err")"
  run "inspect$q" "$inspect" "$tmp/model$q.eid"
  [ "$rc" -eq 0 ] || fail "inspect of the $q model exited $rc: $(cat "$tmp/inspect$q.err")"
  grep -qE " $q " "$tmp/inspect$q.out" && grep -qE ' f32 ' "$tmp/inspect$q.out" ||
    fail "inspect does not show both $q and f32 tensors in the --quant $q model"
done

# A directory that is not a checkpoint: non-zero, "error:" naming config.json, no output.
mkdir "$tmp/empty"
run bad "$convert" "$tmp/empty" -o "$tmp/bad.eid"
[ "$rc" -ne 0 ] || fail "converting an empty directory exited 0"
grep -q 'error:' "$tmp/bad.err" || fail "no 'error:' on stderr: $(cat "$tmp/bad.err")"
grep -q "$tmp/empty/config.json" "$tmp/bad.err" || fail "the error does not name config.json: $(cat "$tmp/bad.err")"
ls "$tmp" | grep -q '^bad\.eid' && fail "a failed conversion left $(ls "$tmp" | grep '^bad\.eid')"

# A checkpoint with config.json but no weights.
mkdir "$tmp/noweights"
cp "$fixture/config.json" "$tmp/noweights/"
run noweights "$convert" -q "$tmp/noweights" -o "$tmp/noweights.eid"
[ "$rc" -ne 0 ] || fail "converting a directory without weights exited 0"
grep -q 'error:.*no model.safetensors' "$tmp/noweights.err" || fail "unexpected error: $(cat "$tmp/noweights.err")"
ls "$tmp" | grep -q '^noweights\.eid' && fail "a failed conversion left $(ls "$tmp" | grep '^noweights\.eid')"

# A directory that does not exist, and a bad --quant.
run missing "$convert" "$tmp/does-not-exist" -o "$tmp/missing.eid"
[ "$rc" -ne 0 ] || fail "converting a missing directory exited 0"
grep -q 'error:.*does-not-exist' "$tmp/missing.err" || fail "no error for a missing directory: $(cat "$tmp/missing.err")"
[ -e "$tmp/missing.eid" ] && fail "converting a missing directory left an output file"
run noout "$convert" "$fixture"
[ "$rc" -ne 0 ] || fail "no -o exited 0"
grep -q 'error:.*--output' "$tmp/noout.err" || fail "no error naming --output: $(cat "$tmp/noout.err")"
run quant "$convert" "$fixture" --quant q3 -o "$tmp/quant.eid"
[ "$rc" -ne 0 ] || fail "--quant q3 exited 0"
grep -q 'error:.*--quant q3' "$tmp/quant.err" || fail "no error naming --quant: $(cat "$tmp/quant.err")"
[ -e "$tmp/quant.eid" ] && fail "--quant q3 left an output file"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "convert_cli_test: all checks passed"
