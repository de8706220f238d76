#!/usr/bin/env bash
# The validation-day sweep of the tree forecaster's settings (issue #26; paper split, no cap): a
# short run of the shipped residual agent (base.toml: configs/qrdqn-plan-residual.toml as of this
# record, a 32-quarter-hour plan over gradient-boosted trees of depth 6, learning rate 0.1, at
# most 400 rounds) with shallower trees (depth 4), deeper trees (depth 8), or a slower rate (0.05,
# at most 800 rounds). Each run's step-0 validation is its planner acting alone over that
# variant's trees (the residual's first candidate). Two variants at a time. Test days not read.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
base=experiments/paper-split-trees-settings/base.toml
out=${OUT:-runs/paper-split-trees-settings-sweep}
mkdir -p "$out"
sed 's/^max_depth = 6$/max_depth = 4/' "$base" > "$out/depth4.toml"
sed 's/^max_depth = 6$/max_depth = 8/' "$base" > "$out/depth8.toml"
sed 's/^eta = 0.1$/eta = 0.05/; s/^max_rounds = 400$/max_rounds = 800/' "$base" > "$out/eta005.toml"
for v in depth4 depth8 eta005; do
  ! cmp -s "$base" "$out/$v.toml"   # each variant changed something
done
one() {
  "$bin" train --config "$out/$1.toml" --steps 20000 --out "$out/run-$1" \
    --forecaster-cache "$out/forecasters" --quiet > "$out/$1.log" 2>&1
  python3 -c "import json,sys; print(sys.argv[1], json.loads(open(sys.argv[2]).readline())['val_eur_per_day'])" \
    "$1" "$out/run-$1/metrics.jsonl"
}
one depth4 & one eta005 & wait
one depth8
