#!/usr/bin/env bash
# The deterministic plan over the tree forecaster (`plan-trees`) against the plan over the
# quantile MLP (`plan`, the planner the shipped paper-split agents observe and the no-cap
# residual agent deploys), pre-MARI file, paper split, quarter-hour decisions on 3 levels,
# without a cap and with 1.1 cycles a day. Both forecasters at `imbarb forecast`'s defaults
# (seed 0; the trees do not depend on it). Rule written before the run: the trees are worth
# carrying into the agents' observation (a later change) only if `plan-trees` earns more than
# `plan` on the VALIDATION days; the test days are then read once for both.
# Usage: experiments/forecaster-gbdt/plan.sh validation|test
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
days=${1:?validation or test}
out=experiments/forecaster-gbdt/out
mkdir -p "$out"
"$bin" backtest --policy plan,plan-trees --actions discrete:3 --days "$days" \
  > "$out/plan-$days-capnone.txt" 2> "$out/plan-$days-capnone.log"
"$bin" backtest --policy plan,plan-trees --actions discrete:3 --days "$days" --cap 1.1 \
  > "$out/plan-$days-cap1.1.txt" 2> "$out/plan-$days-cap1.1.log"
