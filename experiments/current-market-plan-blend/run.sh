#!/usr/bin/env bash
# The validation-day sweep of the post-MARI planner over the rolling MPC's forecast weighed with
# the forecaster's (issues #25, #26; monthly walk-forward 2024-07 .. 2024-12, no cap): for each
# month a short run of the shipped residual agent (base.toml: configs/qrdqn-current-market.toml
# as of this record: plan over the MPC refit daily on 28 days, stored energy at its window's
# mean) trained on every day before the month, its last 14 days validating, with
# `rolling_mpc_weight` = 1 (shipped), 0.75, 0.5 (WEIGHTS picks some). Each run's step-0
# validation is its planner acting alone on that month's 14 validation days. The forecaster is
# fitted once per month and shared. Test months not read. Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
base=experiments/current-market-plan-blend/base.toml
out=${OUT:-runs/current-market-plan-blend-sweep}
mkdir -p "$out"
for m in 07 08 09 10 11 12; do
  for w in ${WEIGHTS:-1 0.75 0.5}; do
    c="$out/m$m-w$w.toml"
    sed "s/^split = .*/split = \"walk-forward:2024-$m-01:14\"/; s/^\[forecast_features.plan\]$/[forecast_features.plan]\nrolling_mpc_weight = $w/" "$base" > "$c"
    grep -q "^split = \"walk-forward:2024-$m-01:14\"$" "$c"
    grep -q "^rolling_mpc_weight = $w$" "$c"
    "$bin" train --config "$c" --steps 20000 --out "$out/run-m$m-w$w" \
      --forecaster-cache "$out/forecasters" --quiet
    python3 -c "import json,sys; print('month', sys.argv[1], 'weight', sys.argv[2], json.loads(open(sys.argv[3]).readline())['val_eur_per_day'])" \
      "$m" "$w" "$out/run-m$m-w$w/metrics.jsonl"
  done
done
