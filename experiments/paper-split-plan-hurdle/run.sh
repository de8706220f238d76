#!/usr/bin/env bash
# The validation-day sweep of the plan's hurdle (issue #26; paper split, no cap): a short run of
# the shipped residual agent (base.toml: configs/qrdqn-plan-residual.toml as of this record, a
# 32-quarter-hour plan over the gradient-boosted trees) with `[forecast_features.plan]
# hurdle_eur_per_mwh` = 0, 5, 10, 20, 40 and, a premium, -5, -10, -20 (HURDLES picks some).
# Each run's step-0 validation is its planner acting alone (the residual's first candidate, the
# figure the gate compares networks with). The trees are fitted once (11 minutes with a build
# beside them) and shared through the forecaster cache; each run then takes about 15 s. Test
# days are not read.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
base=experiments/paper-split-plan-hurdle/base.toml
out=${OUT:-runs/paper-split-plan-hurdle-sweep}
mkdir -p "$out"
for h in ${HURDLES:-0 5 10 20 40 -5 -10 -20}; do
  sed "s/^\[forecast_features.plan\]$/[forecast_features.plan]\nhurdle_eur_per_mwh = $h.0/" "$base" > "$out/h$h.toml"
  grep -q "^hurdle_eur_per_mwh = $h.0" "$out/h$h.toml"
  "$bin" train --config "$out/h$h.toml" --steps 20000 --out "$out/run-h$h" \
    --forecaster-cache "$out/forecasters" --quiet
  python3 -c "import json,sys; print('hurdle', sys.argv[1], json.loads(open(sys.argv[2]).readline())['val_eur_per_day'])" \
    "$h" "$out/run-h$h/metrics.jsonl"
done
