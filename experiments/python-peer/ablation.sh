#!/usr/bin/env bash
# Which imbarb setting that SB3 lacks costs imbarb's DQN its gap to SB3? The shipped DQN config,
# without replay observation noise, and without double Q-learning, seeds 0-2, judged on the
# validation days only (each run's best validation EUR/day, printed by train). About 12 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
out=${1:-runs/python-peer-ablation}
for v in base nonoise single; do
  config=experiments/python-peer/dqn.toml
  [ "$v" = base ] || config=experiments/python-peer/ablation-dqn-$v.toml
  for seed in 0 1 2; do
    "$bin" train --config "$config" --seed "$seed" --out "$out/$v-seed$seed" --quiet
  done
done
