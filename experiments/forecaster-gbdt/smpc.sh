#!/usr/bin/env bash
# The stochastic MPC over the tree forecaster (`smpc-trees`) against the same planner over the
# quantile MLP (`smpc`), pre-MARI file, paper split, quarter-hour decisions on 3 levels, without a
# cap and with 1.1 cycles a day, seeds 0-2 (the seed draws the paths and, for the MLP, its
# weights). Rule written before the run: for each cap, the trees become the stochastic MPC's
# forecaster in the tables (the bar issue #26 measures agents against) when their mean over the
# three seeds on the VALIDATION days is higher; the test days are then read once for both, so the
# bar is reported either way. Two backtests at a time; about 50 minutes on 2 cores.
# Usage: experiments/forecaster-gbdt/smpc.sh validation|test
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
days=${1:?validation or test}
out=experiments/forecaster-gbdt/out
mkdir -p "$out"
run() {
  local policy=$1 cap=$2 name=$3
  local capargs=()
  [ "$cap" = none ] || capargs=(--cap "$cap")
  "$bin" backtest --policy "$policy" --actions discrete:3 --days "$days" "${capargs[@]}" \
    > "$out/smpc-$days-$name-cap$cap.txt" 2> "$out/smpc-$days-$name-cap$cap.log"
}
for seed in 0 1 2; do
  for cap in none 1.1; do
    run "smpc:$seed" "$cap" "mlp-seed$seed" &
    run "smpc-trees:$seed" "$cap" "trees-seed$seed" &
    wait
  done
done
