#!/usr/bin/env bash
# PyTorch's initialisation for the paper split's no-cap agents over the trees (issue #26),
# validation days only: the shipped residual agent over the trees (32 quarter-hours,
# experiments/paper-split-trees-horizon) with `[network] init = "torch"`, and the same agent
# observing the trees' quantiles and the plan's columns without the residual frame. 3 seeds each,
# 700k steps; one forecaster fit shared through the cache. About 50 minutes on 2 cores (the
# 32-horizon trees take about 10 of them). Test days are not read.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${IMBARB:-target/release/imbarb}
[ -x "$bin" ] || cargo build --release -q
here=experiments/paper-split-trees-torch-init
out=${OUT:-runs/paper-split-trees-torch-init}
mkdir -p "$out"
for variant in residual-torch observing-torch; do
  for seed in 0 1 2; do
    "$bin" train --config "$here/$variant.toml" --seed "$seed" --out "$out/$variant-seed$seed" \
      --forecaster-cache "$out/forecasters" --quiet
  done
done
for variant in residual-torch observing-torch; do
  for seed in 0 1 2; do
    python3 -c "import json,sys; m=[json.loads(l) for l in open(sys.argv[2])]; print(sys.argv[1], max(x['val_eur_per_day'] for x in m))" \
      "$variant-seed$seed" "$out/$variant-seed$seed/metrics.jsonl"
  done
done
