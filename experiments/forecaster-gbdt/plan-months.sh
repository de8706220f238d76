#!/usr/bin/env bash
# The plan over the tree forecaster (`plan-trees`) beside the plan over the quantile MLP (`plan`)
# and the plan over the MPC refit daily valuing stored energy at its window's mean
# (`plan-mpc-rolling-terminal`, the planner the post-MARI no-cap default reads), monthly
# walk-forward on the pre-MARI file over 2023-03 .. 2023-08: each month fitted on every day before
# it but the last 14 (held out, as the monthly walk-forward does) and traded whole. These are the
# months experiments/residual-gate-choice chose settings on: days the post-MARI test months do not
# touch, where a planner for the current-market agents may be chosen. No cap, quarter-hour
# decisions on 3 levels. Needs ../shared/data; two months at a time, about 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
shared=${IMBARB_SHARED_DATA:-../shared/data}
data="$shared/elia_be_imbalance_qh_2022-07_2023-08_combined.csv"
out=experiments/forecaster-gbdt/out
mkdir -p "$out"
month() {
  local m=$1
  local first last train_end val_start
  first=$(date -d "$m-01" +%F)
  last=$(date -d "$m-01 +1 month -1 day" +%F)
  train_end=$(date -d "$m-01 -15 days" +%F)
  val_start=$(date -d "$m-01 -14 days" +%F)
  "$bin" backtest --policy plan,plan-trees,plan-mpc-rolling-terminal --actions discrete:3 --data "$data" \
    --split "explicit:train=2022-07-01..$train_end,validation=$val_start..$(date -d "$m-01 -1 day" +%F),test=$first..$last" \
    > "$out/plan-month-$m.txt" 2> "$out/plan-month-$m.log"
}
for pair in "2023-03 2023-04" "2023-05 2023-06" "2023-07 2023-08"; do
  for m in $pair; do month "$m" & done
  wait
done
