#!/usr/bin/env bash
# Runs the README's commands verbatim, as a new user would: in a fresh clone of this repository
# (HEAD), the main job first, then every `cargo run --release -- ...` line of the README's `sh`
# blocks in order, except those marked `# needs internet` (Elia's portal is not reachable from CI;
# the fetch client is tested against a local server). Fails on the first command that fails,
# naming it.
#
#   scripts/check_readme.sh            # about 10 minutes on 2 cores
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/imbarb"
# The README names ../shared/data for the optional real-file tests; the commands need none of it.
cd "$work/imbarb"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
mapfile -t commands < <(awk '/^```sh$/{inside=1; next} /^```$/{inside=0} inside && /^cargo run --release -- / && !/# needs internet/' README.md \
  | sed 's/[[:space:]]*#.*$//')
if [ "${#commands[@]}" -lt 5 ]; then
  echo "check_readme: found only ${#commands[@]} commands in README.md" >&2
  exit 1
fi
for c in "${commands[@]}"; do
  echo "== $c"
  start=$(date +%s)
  if ! bash -c "$c" > "$work/out.txt" 2>&1; then
    echo "README command failed: $c" >&2
    tail -n 20 "$work/out.txt" >&2
    exit 1
  fi
  echo "   ok in $(( $(date +%s) - start )) s"
done
echo "check_readme: ${#commands[@]} README commands passed"
