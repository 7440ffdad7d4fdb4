#!/usr/bin/env bash
# Formats the project's C++ with clang-format (.clang-format at the root).
#
#   scripts/format.sh           formats every tracked .cpp / .h / .inc in place
#   scripts/format.sh --check   changes nothing; lists the files clang-format
#                               would change and fails if there are any
set -euo pipefail
cd "$(dirname "$0")/.."
mode=fix
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "format.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (Debian: clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.inc')
if [ $mode = fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# One clang-format for all files; each place it would change is a "file:line:col: error" line.
bad=$({ clang-format --dry-run --Werror "${files[@]}" 2>&1 || true; } | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
if [ -n "$bad" ]; then
  echo "format.sh: not formatted (run scripts/format.sh):" $bad >&2
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
