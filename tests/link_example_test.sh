#!/usr/bin/env bash
# link_example_test: the installed package is usable by an outside project.
#   1. install the built project into a temporary prefix;
#   2. check the package files are there and the library exports only the C API;
#   3. configure and build samples/link_example against that prefix alone;
#   4. convert the demo model and run the app on it: it must exit 0 and print
#      a non-empty greedy continuation, which must be the start of the text
#      Hugging Face generated greedily for the same prompt.
#
# usage: link_example_test.sh CMAKE BUILD_DIR EXAMPLE_DIR CONVERT DEMO_DIR GENERATOR C_COMPILER
set -euo pipefail

if [ $# -ne 7 ]; then
  echo "usage: $0 CMAKE BUILD_DIR EXAMPLE_DIR CONVERT DEMO_DIR GENERATOR C_COMPILER" >&2
  exit 2
fi
cmake=$1 build_dir=$2 example_dir=$3 convert=$4 demo_dir=$5 generator=$6 c_compiler=$7

tmp=$(mktemp -d /tmp/eidetic-link-example-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
  echo "link_example_test: FAIL: $*" >&2
  exit 1
}

echo "== install into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  fail "cmake --install failed"
}

# The package: config files, the exported target, the header, the library.
config=$(find "$prefix" -name eideticConfig.cmake -print -quit)
[ -n "$config" ] || fail "eideticConfig.cmake was not installed"
pkgdir=$(dirname "$config")
for f in eideticConfigVersion.cmake eideticTargets.cmake; do
  [ -f "$pkgdir/$f" ] || fail "$f was not installed next to eideticConfig.cmake"
done
grep -q "eidetic::eidetic" "$pkgdir/eideticTargets.cmake" || fail "eideticTargets.cmake does not define eidetic::eidetic"
[ -f "$prefix/include/eidetic.h" ] || fail "include/eidetic.h was not installed"
lib=$(find "$prefix" -name 'libeidetic.so*' -type f -print -quit)
[ -n "$lib" ] || fail "libeidetic.so was not installed"

# The library exports the C API and nothing of its internals (C++ that must
# not clash with, or be interposed by, an app's own symbols). The C++ standard
# library's vague-linkage symbols (typeinfo of std:: types, ...) may remain.
if command -v nm >/dev/null 2>&1 && command -v c++filt >/dev/null 2>&1; then
  extra=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | grep -v '^eidetic_' | grep -v '^_init$\|^_fini$' |
    c++filt | grep -Ev '^((typeinfo|typeinfo name|vtable|guard variable) for )?std::' || true)
  if [ -n "$extra" ]; then
    echo "$extra" | head -20 >&2
    fail "$lib exports $(echo "$extra" | wc -l) symbols besides the eidetic_* C API"
  fi
  nm -D --defined-only "$lib" | grep -q ' T eidetic_generate$' || fail "$lib does not export eidetic_generate"
fi

echo "== configure and build samples/link_example against the prefix"
"$cmake" -S "$example_dir" -B "$tmp/build" -G "$generator" -DCMAKE_C_COMPILER="$c_compiler" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >"$tmp/configure.log" 2>&1 || {
  cat "$tmp/configure.log" >&2
  fail "configuring link_example failed"
}
# It must have found the package in the prefix, not some other install.
found=$(grep '^eidetic_DIR:' "$tmp/build/CMakeCache.txt" | cut -d= -f2-)
[ "$found" = "$pkgdir" ] || fail "find_package(eidetic) found '$found', expected '$pkgdir'"
"$cmake" --build "$tmp/build" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  fail "building link_example failed"
}
app=$tmp/build/app
[ -x "$app" ] || fail "no app binary at $app"

echo "== convert the demo model"
"$convert" -q "$demo_dir" -o "$tmp/demo.eid" || fail "eidetic-convert failed"

echo "== run the app"
prompt="The computer"
set +e
"$app" "$tmp/demo.eid" "$prompt" >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
set -e
cat "$tmp/out.txt"
cat "$tmp/err.txt" >&2
[ "$rc" -eq 0 ] || fail "app exited with $rc"

# The app prints the prompt, the continuation, then one newline of its own.
[ "$(tail -c 1 "$tmp/out.txt" | od -An -tx1 | tr -d ' ')" = "0a" ] || fail "the output does not end with a newline"
head -c -1 "$tmp/out.txt" >"$tmp/got.txt"
[ "$(head -c "${#prompt}" "$tmp/got.txt")" = "$prompt" ] || fail "the output does not start with the prompt"
visible=$(tail -c +"$((${#prompt} + 1))" "$tmp/got.txt" | tr -d '[:space:]' | wc -c)
[ "$visible" -gt 0 ] || fail "the app printed no generated text"

# Hugging Face's greedy text for the prompt (greedy_samples.json, 60 tokens),
# read with CMake's JSON parser; the app's 40 tokens must be its beginning.
cat >"$tmp/extract.cmake" <<'EOF'
file(READ "${IN}" json)
string(JSON text GET "${json}" "${KEY}" text)
file(WRITE "${OUT}" "${text}")
EOF
"$cmake" -DIN="$demo_dir/greedy_samples.json" -DKEY="$prompt" -DOUT="$tmp/hf.txt" -P "$tmp/extract.cmake" ||
  fail "cannot read greedy_samples.json"
n=$(wc -c <"$tmp/got.txt")
[ "$n" -lt "$(wc -c <"$tmp/hf.txt")" ] || fail "40 tokens should give less text than HF's 60"
cmp -s -n "$n" "$tmp/got.txt" "$tmp/hf.txt" || {
  echo "got: $(cat "$tmp/got.txt")" >&2
  echo "HF:  $(cat "$tmp/hf.txt")" >&2
  fail "the greedy continuation differs from Hugging Face's"
}

echo "link_example_test: OK ($n bytes match the start of Hugging Face's greedy text)"
