#!/usr/bin/env bash
# Held-out text for the demo model (samples/models/fortune-mamba2): the last 5%
# of its training corpus, which the model never trained on.
#
# The corpus is the plain-text fortune files of Debian's `fortunes` package
# (with those of `fortunes-min`, which it depends on and installs into the same
# folder), concatenated in name order (C locale); the .dat indexes and the .u8
# links are left out. The held-out part is the last 5% of those bytes, starting
# at a line boundary.
#
# Usage: scripts/heldout_text.sh OUT.txt   (installs `fortunes` if missing; needs root for that)
set -euo pipefail
out=${1:?usage: heldout_text.sh OUT.txt}
dir=/usr/share/games/fortunes

if [ ! -f "$dir/zippy" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends fortunes >/dev/null ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends fortunes >/dev/null; }
fi

files=()
while IFS= read -r name; do
  [ -f "$dir/$name" ] && [ ! -L "$dir/$name" ] && files+=("$dir/$name")
done < <(LC_ALL=C ls "$dir" | grep -v -E '\.(dat|u8)$' | LC_ALL=C sort)
[ "${#files[@]}" -gt 0 ] || { echo "heldout_text.sh: no fortune files in $dir" >&2; exit 1; }

total=$(cat "${files[@]}" | wc -c)
cut=$((total - total / 20))  # the held-out part starts at the first line that begins at or after byte $cut
# tail -c +K starts at byte K-1 (0-based): if that byte ends a line, the first
# "line" is just that newline; otherwise it is the rest of a cut line. Either
# way dropping it leaves the text from the first line start at or after $cut.
cat "${files[@]}" | tail -c +"$cut" | tail -n +2 >"$out"
echo "heldout_text.sh: $out: last $(wc -c <"$out") of $total bytes of ${#files[@]} fortune files" >&2
