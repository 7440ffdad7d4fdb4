#!/usr/bin/env bash
# eidetic-bench and eidetic-random-checkpoint as programs (correctness only;
# no timing is asserted): the JSON lines parse and their figures are positive,
# the table has its columns, and a reduced random checkpoint of a real shape
# converts, loads and runs.
# Usage: bench_cli_test.sh EIDETIC_BENCH EIDETIC_RANDOM_CHECKPOINT EIDETIC_CONVERT EIDETIC_INSPECT FIXTURES_DIR
set -u
bench=$1
random=$2
convert=$3
inspect=$4
fixtures=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# field LINE KEY: the raw JSON value of KEY in LINE (numbers, null, "strings").
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": \(\"[^\"]*\"\|[^,}]*\).*/\1/p"; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0 && v ~ /^[0-9.e+-]+$/) }'; }

# check_line LINE: one well-formed object with every figure present and positive.
check_line() {
  local line=$1 k v
  case "$line" in
    \{*\}) ;;
    *) fail "not a JSON object: $line"; return ;;
  esac
  # Well-formed: "key": value pairs separated by ", " and nothing else.
  printf '%s\n' "$line" | grep -qE '^\{("[a-z_]+": ("[^"]*"|-?[0-9][0-9.e+-]*|null|true|false))(, "[a-z_]+": ("[^"]*"|-?[0-9][0-9.e+-]*|null|true|false))*\}$' ||
    fail "malformed JSON line: $line"
  for k in weight_bytes params file_bytes state_bytes threads p n reps load_ms prompt_tps gen_tps gen_weight_gbps \
    peak_rss_mib; do
    v=$(field "$line" "$k")
    positive "$v" || fail "$k is '$v', not a positive number: $line"
  done
  for k in model architecture weights backend device; do
    v=$(field "$line" "$k")
    [ -n "$v" ] && [ "$v" != '""' ] || fail "$k is missing or empty: $line"
  done
}

# --- the mamba fixture, converted
"$convert" -q "$fixtures/mamba" -o "$tmp/mamba.eid" || fail "eidetic-convert of the mamba fixture failed"
"$bench" -m "$tmp/mamba.eid" -p 8 -n 4 -t 1 -r 2 --json >"$tmp/one.out" 2>"$tmp/one.err" ||
  fail "eidetic-bench --json exited non-zero: $(cat "$tmp/one.err")"
[ "$(wc -l <"$tmp/one.out")" -eq 1 ] || fail "expected one JSON line, got: $(cat "$tmp/one.out")"
line=$(head -1 "$tmp/one.out")
check_line "$line"
[ "$(field "$line" architecture)" = '"mamba"' ] || fail "architecture is not mamba: $line"
[ "$(field "$line" weights)" = '"f32"' ] || fail "weights are not f32: $line"
[ "$(field "$line" threads)" = 1 ] && [ "$(field "$line" p)" = 8 ] && [ "$(field "$line" n)" = 4 ] ||
  fail "threads / p / n do not echo the flags: $line"
[ "$(field "$line" model)" = "\"$tmp/mamba.eid\"" ] || fail "model path not echoed: $line"
field "$line" device | grep -qE '^"CPU, (portable|AVX2|NEON)' || fail "device does not name the CPU kernels: $line"

# Two thread counts: two lines, in order.
"$bench" -m "$tmp/mamba.eid" -p 8 -n 4 -t 1,2 -r 1 --json >"$tmp/two.out" 2>"$tmp/two.err" ||
  fail "eidetic-bench -t 1,2 exited non-zero: $(cat "$tmp/two.err")"
[ "$(wc -l <"$tmp/two.out")" -eq 2 ] || fail "-t 1,2: expected two lines, got: $(cat "$tmp/two.out")"
while IFS= read -r l; do check_line "$l"; done <"$tmp/two.out"
[ "$(field "$(sed -n 2p "$tmp/two.out")" threads)" = 2 ] || fail "second line is not threads 2"

# -p 0: no prompt test, its figure is null; generation still measured.
"$bench" -m "$tmp/mamba.eid" -p 0 -n 4 -r 1 --json >"$tmp/nop.out" 2>&1 || fail "-p 0 exited non-zero"
[ "$(field "$(cat "$tmp/nop.out")" prompt_tps)" = null ] || fail "-p 0: prompt_tps is not null: $(cat "$tmp/nop.out")"
positive "$(field "$(cat "$tmp/nop.out")" gen_tps)" || fail "-p 0: gen_tps not positive"

# The table: a header with the test names, one row per thread count.
"$bench" -m "$tmp/mamba.eid" -p 8 -n 4 -t 1,2 -r 1 >"$tmp/table.out" 2>&1 || fail "table mode exited non-zero"
grep -q 'pp8 t/s' "$tmp/table.out" && grep -q 'tg4 t/s' "$tmp/table.out" && grep -q 'peak RSS' "$tmp/table.out" ||
  fail "table header lacks pp8 / tg4 / peak RSS: $(cat "$tmp/table.out")"
[ "$(grep -c '^| mamba.eid' "$tmp/table.out")" -eq 2 ] || fail "expected two table rows: $(cat "$tmp/table.out")"
grep -q '^device: CPU, ' "$tmp/table.out" || fail "the table is not followed by the device: $(cat "$tmp/table.out")"

# --help explains the figures; errors exit non-zero with "error:".
"$bench" --help >"$tmp/help.out" 2>&1 || fail "--help exited non-zero"
for w in load pp tg 'peak RSS' VmHWM median; do
  grep -q "$w" "$tmp/help.out" || fail "--help does not explain '$w'"
done
"$bench" -m "$tmp/missing.eid" -p 8 -n 4 >"$tmp/missing.out" 2>&1 && fail "a missing model exited 0"
grep -q 'error:' "$tmp/missing.out" || fail "no error for a missing model: $(cat "$tmp/missing.out")"

# --- random checkpoints of real shapes, reduced to 2 layers and a small vocabulary
"$random" --shape mamba-7b -o "$tmp/bad" >"$tmp/bad.out" 2>&1 && fail "an unknown shape exited 0"
grep -q 'error:.*mamba2-2.7b' "$tmp/bad.out" || fail "the unknown-shape error does not list the shapes: $(cat "$tmp/bad.out")"
for shape in mamba-130m mamba2-130m; do
  arch=${shape%%-*}
  "$random" -q --shape "$shape" --layers 2 --vocab 1000 --dtype f16 --seed 5 -o "$tmp/$shape" ||
    fail "eidetic-random-checkpoint --shape $shape failed"
  [ -e "$tmp/$shape/tokenizer.json" ] && fail "$shape: a tokenizer.json was written"
  # The same keys as the fixture transformers wrote for that architecture.
  diff <(grep -o '^  "[a-z_]*":' "$tmp/$shape/config.json") <(grep -o '^  "[a-z_]*":' "$fixtures/$arch/config.json") >/dev/null ||
    fail "$shape: config.json keys differ from transformers' $arch config"
  "$convert" -q "$tmp/$shape" -o "$tmp/$shape.eid" || { fail "eidetic-convert of $shape failed"; continue; }
  "$inspect" "$tmp/$shape.eid" >"$tmp/$shape.inspect" 2>&1 || fail "eidetic-inspect of $shape failed"
  grep -qE "^architecture +$arch\$" "$tmp/$shape.inspect" && grep -qE '^hidden size +768$' "$tmp/$shape.inspect" &&
    grep -qE '^blocks +5$' "$tmp/$shape.inspect" && grep -qE '^tokenizer +none$' "$tmp/$shape.inspect" ||
    fail "$shape: inspect shows the wrong shape: $(head -12 "$tmp/$shape.inspect")"
  "$bench" -m "$tmp/$shape.eid" -p 8 -n 4 -r 1 --json >"$tmp/$shape.bench" 2>&1 || fail "eidetic-bench on $shape failed"
  check_line "$(cat "$tmp/$shape.bench")"
  [ "$(field "$(cat "$tmp/$shape.bench")" architecture)" = "\"$arch\"" ] || fail "$shape: wrong architecture"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "bench_cli_test: all checks passed"
