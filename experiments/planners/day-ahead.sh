#!/usr/bin/env bash
# The forecaster reading the day-ahead curve (issue #26), on post-MARI prices only (every training
# day has the curve; with pre-MARI history, which has none, the forecaster does not read it):
# fitted on 2024-05-22 .. 2024-09-16 (its last 15 % choosing the step), 14 validation days, tested
# on October-December 2024. The forecaster with and without the curve (seeds 0-2), then the
# stochastic MPC (reading it) beside the MPC that blends the curve in, and perfect foresight. One
# block, not the monthly walk-forward. Nothing here was chosen on test days. Needs
# ../shared/data; about 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
shared=${IMBARB_SHARED_DATA:-../shared/data}
out=experiments/planners/out
mkdir -p "$out"
data=("$shared/elia_be_imbalance_qh_2024-05_2024-12_postmari.csv" "$shared/be_day_ahead_price_qh_2024.csv")
split=walk-forward:2024-10-01:14
for seed in 0 1 2; do
  "$bin" forecast --data "${data[@]}" --split "$split" --seed "$seed" --json \
    > "experiments/planners/postmari-forecast-day-ahead-seed$seed.json"
  "$bin" forecast --data "${data[@]}" --split "$split" --seed "$seed" --no-day-ahead --json \
    > "experiments/planners/postmari-forecast-no-day-ahead-seed$seed.json"
done
"$bin" backtest --policy mpc,smpc,oracle --actions discrete:3 --data "${data[@]}" --split "$split" \
  > "$out/postmari-day-ahead-seed0.txt"
for seed in 1 2; do
  "$bin" backtest --policy "smpc:$seed" --actions discrete:3 --data "${data[@]}" --split "$split" \
    > "$out/postmari-day-ahead-seed$seed.txt"
done
