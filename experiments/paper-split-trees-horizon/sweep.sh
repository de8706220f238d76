#!/usr/bin/env bash
# The validation-day sweep that chose the plan horizon of the residual agent over the trees
# (paper split, no cap): a short run of each variant; its step-0 validation is its planner acting
# alone (the residual's first candidate), the figure the gate compares networks with. Variants of
# experiments/paper-split-trees-residual/configs/qrdqn-plan-residual-trees.toml (plan horizon 16,
# validation 657.8): v1 terminal_after_discharge, v2 forecaster and plan horizon 32, v3 plan
# horizon 8, v4 forecaster and plan horizon 64. Test days are not read. About 40 minutes on 2
# cores (the 64-horizon trees alone take about 15).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
base=experiments/paper-split-trees-residual/configs/qrdqn-plan-residual-trees.toml
out=${OUT:-runs/paper-split-trees-horizon-sweep}
mkdir -p "$out"
sed 's/^terminal_after_discharge = false/terminal_after_discharge = true/' "$base" > "$out/v1.toml"
sed 's/^horizon = 16/horizon = 32/' "$base" > "$out/v2.toml"   # the forecaster's and the plan's
awk '/^\[forecast_features.plan\]/{p=1} p&&/^horizon = 16/{sub(/16/,"8");p=0} {print}' "$base" > "$out/v3.toml"
sed 's/^horizon = 16/horizon = 64/' "$base" > "$out/v4.toml"
for v in v1 v2 v3 v4; do
  "$bin" train --config "$out/$v.toml" --steps 20000 --out "$out/run-$v" \
    --forecaster-cache "$out/forecasters" --quiet
  python3 -c "import json,sys; print(sys.argv[1], json.loads(open(sys.argv[2]).readline())['val_eur_per_day'])" \
    "$v" "$out/run-$v/metrics.jsonl"
done
