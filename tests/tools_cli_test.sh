#!/usr/bin/env bash
# eidetic-tokenize and eidetic-generate as programs, on the bundled demo model:
# ids and text against Hugging Face's greedy samples, reproducible sampling,
# and failures that exit non-zero with "error:" on stderr.
# Usage: tools_cli_test.sh EIDETIC_CONVERT EIDETIC_TOKENIZE EIDETIC_GENERATE DEMO_DIR
set -u
convert=$1
tokenize=$2
generate=$3
demo=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

"$convert" -q "$demo" -o "$tmp/demo.eid" || fail "conversion failed"

# HF's greedy sample for "The computer" (greedy_samples.json) starts with these
# ids and this text; the first two ids are the prompt.
want_text='The computer science is an essential.'
[ "$("$tokenize" -m "$tmp/demo.eid" "The computer")" = "317,965" ] || fail "tokenize 'The computer' != 317,965"
[ "$("$tokenize" -m "$tmp/demo.eid" --decode 317,965)" = "The computer" ] || fail "decode mismatch"
"$tokenize" -m "$tmp/demo.eid" --decode 5,99999 >/dev/null 2>"$tmp/bad.err" && fail "an out-of-range id was accepted"
grep -q "error:" "$tmp/bad.err" || fail "no error message for an out-of-range id"

out=$("$generate" -m "$tmp/demo.eid" -p "The computer" -n 14 --temp 0 --repeat-penalty 1 -q)
case "$out" in
  "$want_text"*) ;;
  *) fail "greedy generation gave '$out', HF gave '$want_text...'" ;;
esac

a=$("$generate" -m "$tmp/demo.eid" -p "Love is" -n 30 --seed 42 -q)
b=$("$generate" -m "$tmp/demo.eid" -p "Love is" -n 30 --seed 42 -q)
[ "$a" = "$b" ] || fail "the same seed gave different text"
[ ${#a} -gt 10 ] || fail "sampling produced almost nothing: '$a'"

"$generate" -m "$tmp/demo.eid" -p "x" -n 4 --temp -1 >/dev/null 2>"$tmp/temp.err" && fail "a negative temperature was accepted"
grep -q "error:" "$tmp/temp.err" || fail "no error message for a negative temperature"
"$generate" -m "$tmp/missing.eid" -p "x" >/dev/null 2>"$tmp/missing.err" && fail "a missing model was accepted"
grep -q "missing.eid" "$tmp/missing.err" || fail "the error does not name the missing file"
"$generate" --help >/dev/null || fail "--help failed"

if [ "$failures" -ne 0 ]; then
  echo "tools_cli_test: $failures failure(s)" >&2
  exit 1
fi
echo "tools_cli_test: all checks passed"
