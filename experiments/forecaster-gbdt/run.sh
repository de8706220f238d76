#!/usr/bin/env bash
# The forecaster's gradient-boosted tree baseline against the quantile MLP (issue #26: "one
# gradient-boosted baseline from a well-kept crate"), both scored per horizon by the same code on
# the same rows beside persistence, the time-of-day profile and (post-MARI) the day-ahead price.
# The trees' settings (depth 6, learning rate 0.1, at most 400 rounds, boosting stopped after 20
# rounds without a better pinball loss on the last 15 % of the training days, boosting from the
# last published price) were fixed before any test day was scored; the MLP's are `imbarb
# forecast`'s defaults, as in experiments/planners. Without row or column sampling the trees do
# not depend on the seed (one run); the MLP runs seeds 0-2.
#  1. Pre-MARI file (embedded), paper split, test days.
#  2. Post-MARI prices alone with the day-ahead curve, fitted on 2024-05-22 .. 2024-09-16
#     (14 validation days), tested on October-December 2024 (experiments/planners/day-ahead.sh's
#     block). Needs ../shared/data.
# About 20 minutes on 2 cores. Then: python3 experiments/forecaster-gbdt/summarize.py
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
out=experiments/forecaster-gbdt/out
mkdir -p "$out"
"$bin" forecast --model gbdt --json > "$out/paper-gbdt.json" 2> "$out/paper-gbdt.log"
for seed in 0 1 2; do
  "$bin" forecast --seed "$seed" --json > "$out/paper-mlp-seed$seed.json" 2> "$out/paper-mlp-seed$seed.log"
done
shared=${IMBARB_SHARED_DATA:-../shared/data}
data=("$shared/elia_be_imbalance_qh_2024-05_2024-12_postmari.csv" "$shared/be_day_ahead_price_qh_2024.csv")
split=walk-forward:2024-10-01:14
if [ -f "${data[0]}" ]; then
  "$bin" forecast --model gbdt --data "${data[@]}" --split "$split" --json \
    > "$out/postmari-gbdt.json" 2> "$out/postmari-gbdt.log"
  for seed in 0 1 2; do
    "$bin" forecast --seed "$seed" --data "${data[@]}" --split "$split" --json \
      > "$out/postmari-mlp-seed$seed.json" 2> "$out/postmari-mlp-seed$seed.log"
  done
fi
