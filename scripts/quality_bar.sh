#!/usr/bin/env bash
# The agent quality bar on real Belgian prices: trains DQN, C51, QR-DQN, IQN, DSAC and SAC (on 3
# levels) and DSAC and SAC on continuous power with 3 seeds, without a cap and with 1.1
# cycles/day (JOBS runs at a time), then backtests every run next to the rule, schedule and MPC
# baselines and the oracle on the test days (in the run's action space), and summarises mean
# EUR/day with a 95 % interval over seeds (Student t, 2 degrees of freedom).
#
#   scripts/quality_bar.sh                 # everything (about 3 hours on 2 cores)
#   ALGOS="qrdqn iqn" SEEDS="0" scripts/quality_bar.sh
#
# Finished runs are skipped (imbarb train resumes or returns at once), so it can be re-run.
set -euo pipefail
DATA=${DATA:-../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv}
OUT=${OUT:-runs/quality}
JOBS=${JOBS:-2}
ALGOS=${ALGOS:-"qrdqn iqn c51 dqn dsac sac dsac-continuous sac-continuous"}
SEEDS=${SEEDS:-"0 1 2"}
# A copy of the binary, so that rebuilding while the runs train does not change them.
cargo build --release --quiet
mkdir -p "$OUT"
BIN="$OUT/imbarb"
cp target/release/imbarb "$BIN.new" && mv "$BIN.new" "$BIN"
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
# Every finished run in $OUT is backtested (not only this call's ALGOS), so the summary covers
# them all: runs on levels beside the 3-level baselines, continuous-power runs (configs named
# *-continuous) beside the continuous baselines.
for cap in none 1.1; do
  dpol="rule,schedule,mpc,oracle"; cpol="rule,schedule,mpc,oracle"
  for run in "$OUT"/*-cap$cap-seed*; do
    grep -q '"status": "finished"' "$run/manifest.json" 2>/dev/null || continue
    case "$run" in
      *-continuous-*) cpol="$cpol,run:$run" ;;
      *) dpol="$dpol,run:$run" ;;
    esac
  done
  capflag=""; [ "$cap" != none ] && capflag="--cap $cap"
  $BIN backtest --data "$DATA" --actions discrete:3 $capflag --policy "$dpol" --json > "$OUT/backtest-cap$cap.json"
  $BIN backtest --data "$DATA" --actions continuous $capflag --policy "$cpol" --json > "$OUT/baselines-continuous-cap$cap.json"
done
python3 scripts/summarise_quality.py "$OUT"
