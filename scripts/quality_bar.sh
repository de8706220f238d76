#!/usr/bin/env bash
# The agent quality bar on real Belgian prices: trains DQN, C51, QR-DQN, IQN, DSAC and SAC with
# 3 seeds, without a cap and with 1.1 cycles/day (JOBS runs at a time), then backtests every run
# next to the rule, schedule and MPC baselines and the oracle on the test days, and summarises
# mean EUR/day with a 95 % interval over seeds (Student t, 2 degrees of freedom).
#
#   scripts/quality_bar.sh                 # everything (about 2 hours on 2 cores)
#   ALGOS="qrdqn iqn" SEEDS="0" scripts/quality_bar.sh
#
# Finished runs are skipped (imbarb train resumes or returns at once), so it can be re-run.
set -euo pipefail
DATA=${DATA:-../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv}
OUT=${OUT:-runs/quality}
JOBS=${JOBS:-2}
ALGOS=${ALGOS:-"qrdqn iqn c51 dqn dsac sac"}
SEEDS=${SEEDS:-"0 1 2"}
cargo build --release --quiet
BIN=target/release/imbarb
mkdir -p "$OUT/logs"
cmds=()
for algo in $ALGOS; do
  for cap in none 1.1; do
    for seed in $SEEDS; do
      run="$OUT/$algo-cap$cap-seed$seed"
      capflag=""; [ "$cap" != none ] && capflag="--cap $cap"
      cmds+=("$BIN train --config configs/$algo.toml --data $DATA $capflag --seed $seed --out $run --quiet > $OUT/logs/$algo-cap$cap-seed$seed.log 2>&1")
    done
  done
done
printf '%s\n' "${cmds[@]}" | xargs -P "$JOBS" -I{} bash -c '{}'
for cap in none 1.1; do
  policies="rule,schedule,mpc,oracle"
  for algo in $ALGOS; do for seed in $SEEDS; do policies="$policies,run:$OUT/$algo-cap$cap-seed$seed"; done; done
  capflag=""; [ "$cap" != none ] && capflag="--cap $cap"
  $BIN backtest --data "$DATA" --actions discrete:3 $capflag --policy "$policies" --json > "$OUT/backtest-cap$cap.json"
  $BIN backtest --data "$DATA" --actions continuous $capflag --policy rule,schedule,mpc,oracle --json > "$OUT/baselines-continuous-cap$cap.json"
done
python3 scripts/summarise_quality.py "$OUT"
