#!/usr/bin/env bash
# The validation-day sweep that chose this record's agent (paper split, 1.1 cycles/day): the agent
# observing the forecaster's quantiles and the plan's columns (configs/qrdqn-plan.toml) from
# PyTorch's initialisation, with the trainer's cycle price at 60 (c1) and 90 EUR/MWh (c2), 3 seeds
# each, 700k steps. Test days are not read. About 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
out=${OUT:-runs/paper-split-cap-observing-torch-sweep}
mkdir -p "$out"
sed 's/^hidden = \[256, 128\]/hidden = [256, 128]\ninit = "torch"/' configs/qrdqn-plan.toml > "$out/c1.toml"
sed 's/^cycle_budget_shadow_price_eur_per_mwh = 60.0/cycle_budget_shadow_price_eur_per_mwh = 90.0/' \
  "$out/c1.toml" > "$out/c2.toml"
for v in c1 c2; do
  for seed in 0 1 2; do
    "$bin" train --config "$out/$v.toml" --cap 1.1 --seed "$seed" --out "$out/run-$v-seed$seed" \
      --forecaster-cache "$out/forecasters" --quiet
  done
done
