#!/usr/bin/env bash
# The validation-day sweep of the plan over the rolling MPC's forecast weighed with the trees'
# (issues #26, #25; paper split, no cap): a short run of the shipped residual agent (base.toml:
# configs/qrdqn-plan-residual.toml as of this record, a 32-quarter-hour plan over gradient-boosted
# trees) with `rolling_mpc_days = 28` and `rolling_mpc_weight` = 0.25, 0.5, 0.75, 1 (WEIGHTS picks
# some); then the adopted weight over the trees experiments/paper-split-trees-settings adopted
# (depth 8; COMBINATION=0 skips it). Each run's step-0 validation is its planner acting alone
# (the residual's first candidate). Each set of trees is fitted once (11 minutes at depth 6, 18
# at depth 8, with other work beside) and shared through the forecaster cache. Test days not
# read.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
base=experiments/paper-split-plan-blend/base.toml
out=${OUT:-runs/paper-split-plan-blend-sweep}
mkdir -p "$out"
for w in ${WEIGHTS-0.25 0.5 0.75 1}; do
  sed "s/^\[forecast_features.plan\]$/[forecast_features.plan]\nrolling_mpc_days = 28\nrolling_mpc_weight = $w/" "$base" > "$out/w$w.toml"
  grep -q "^rolling_mpc_weight = $w$" "$out/w$w.toml"
  "$bin" train --config "$out/w$w.toml" --steps 20000 --out "$out/run-w$w" \
    --forecaster-cache "${CACHE:-$out/forecasters}" --quiet
  python3 -c "import json,sys; print('weight', sys.argv[1], json.loads(open(sys.argv[2]).readline())['val_eur_per_day'])" \
    "$w" "$out/run-w$w/metrics.jsonl"
done
if [ "${COMBINATION:-1}" = 1 ]; then
  sed 's/^max_depth = 6$/max_depth = 8/' "$out/w0.25.toml" > "$out/w0.25-depth8.toml"
  grep -q "^max_depth = 8$" "$out/w0.25-depth8.toml"
  "$bin" train --config "$out/w0.25-depth8.toml" --steps 20000 --out "$out/run-w0.25-depth8" \
    --forecaster-cache "${CACHE:-$out/forecasters}" --quiet
  python3 -c "import json,sys; print('weight 0.25, depth 8', json.loads(open(sys.argv[1]).readline())['val_eur_per_day'])" \
    "$out/run-w0.25-depth8/metrics.jsonl"
fi
