#!/usr/bin/env bash
# The forecaster offered the day-ahead curve (issue #26: it reads the curve only when that lowers
# its validation loss, on the last 15 % of its training days), on post-MARI prices alone, so that
# every training day has the curve: fitted on 2024-05-22 .. 2024-09-16, 14 validation days, tested
# on October-December 2024. The forecaster so chosen and the forecaster without the curve (seeds
# 0-2), then the stochastic MPC (its forecaster chosen the same way) beside the MPC that blends the
# curve in, and perfect foresight. One block, not the monthly walk-forward. Nothing here was chosen
# on test days. Needs ../shared/data; about 25 minutes on 2 cores.
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
