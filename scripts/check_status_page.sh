#!/usr/bin/env bash
# Opens the live service's status page in a real browser: trains a small run on the embedded
# prices, replays a day through `imbarb live` (paper trading) on a loopback port, saves `/` while
# it runs and checks it with scripts/check_report.sh (no console messages, its chart drawn, no
# sideways scrolling at 390 px, a screenshot). Bounded: the replay ends by itself within a minute.
#
#   scripts/check_status_page.sh [SCREENSHOT.png]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shot=${1:-$repo/target/status-page.png}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$repo"
cargo build -q --bin imbarb
bin="${CARGO_TARGET_DIR:-$repo/target}/debug/imbarb"
printf 'algo = "qr-dqn"\n[training]\nlearning_starts = 500\nvalidate_every = 1500\nenvs = 8\n[network]\nhidden = [32, 32]\n' > "$work/q.toml"
"$bin" train --config "$work/q.toml" --data belgium --steps 3000 --out "$work/run" --quiet > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'bind = "127.0.0.1:%s"\njournal = "journal.sqlite"\n' "$port" > "$work/live.toml"
"$bin" live --run "$work/run" --config "$work/live.toml" --replay belgium --from 2023-08-30 --to 2023-08-30 --speed 3600 \
  > "$work/live.log" 2>&1 &
pid=$!
page="$work/status.html"
for _ in $(seq 1 100); do
  if python3 - "$port" "$page" <<'PY'
import sys, urllib.request
port, out = sys.argv[1], sys.argv[2]
try:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
except Exception:
    sys.exit(1)
if b"<polyline" not in body:
    sys.exit(1)
open(out, "wb").write(body)
PY
  then break; fi
  sleep 0.2
done
[ -s "$page" ] || { echo "the status page never answered (log below)" >&2; cat "$work/live.log" >&2; exit 1; }
"$repo/scripts/check_report.sh" "$page" "$shot" 1
