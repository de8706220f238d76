#!/usr/bin/env bash
# Which imbarb setting that SB3 lacks costs imbarb its gap to SB3? Judged on the validation days
# only (each run's best validation EUR/day, printed by train), seeds 0-2:
# - DQN with He initialisation (the shipped default until 2026-12-07), without replay observation
#   noise and without double Q-learning (both He), and with PyTorch's default (dqn.toml);
# - QR-DQN with He (ablation-qrdqn-he.toml) and PyTorch's default (qrdqn.toml);
# the initialisation variants with and without the 1.1 cycles/day cap. About 30 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
out=${1:-runs/python-peer-ablation}
dir=experiments/python-peer
run() { # NAME CONFIG CAP (none: the config's, no cap)
  local cap=()
  [ "$3" = none ] || cap=(--cap "$3")
  for seed in 0 1 2; do
    "$bin" train --config "$2" --seed "$seed" "${cap[@]}" --out "$out/$1-cap$3-seed$seed" --quiet
  done
}
for cap in none 1.1; do
  run dqn-he "$dir/ablation-dqn-he.toml" "$cap"
  run dqn-torch "$dir/dqn.toml" "$cap"
  run qrdqn-he "$dir/ablation-qrdqn-he.toml" "$cap"
  run qrdqn-torch "$dir/qrdqn.toml" "$cap"
done
run dqn-he-nonoise "$dir/ablation-dqn-nonoise.toml" none
run dqn-he-single "$dir/ablation-dqn-single.toml" none
