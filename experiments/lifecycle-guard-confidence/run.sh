#!/usr/bin/env bash
# The guard's confidence chosen on validation replays, without and with a cycle cap (3 seeds
# each); no setting beat the ones shipped, so no test replay was run (see notes.md).
# Usage (repository root, release binary built): experiments/lifecycle-guard-confidence/run.sh OUT
# The no-cap models are experiments/lifecycle-gate's; link OUT/none/seedN/model to a finished one
# (e.g. from experiments/lifecycle-selection/run.sh) to skip training it again.
set -euo pipefail
OUT=$1
for seed in 0 1 2; do
  experiments/lifecycle-guard-confidence/validate.sh "$OUT/none" "$seed" "50:false 50:false:0.9 0:false:0.9 100000:false"
  mkdir -p "$OUT/cap/seed$seed"
  for v in experiments/lifecycle-guard-choice/out-cap/seed$seed/validate-*-m{50,100000}-false; do
    mkdir -p "$OUT/cap/seed$seed/$(basename "$v")"
    cp "$v/days.csv" "$OUT/cap/seed$seed/$(basename "$v")/"
  done
  experiments/lifecycle-guard-confidence/validate-cap.sh "$OUT/cap" "$seed" "50:false:0.9 0:false:0.9"
done
python3 experiments/lifecycle-guard-choice/summarize_validation.py "$OUT/none" > experiments/lifecycle-guard-confidence/validation-none.md
python3 experiments/lifecycle-guard-choice/summarize_validation.py "$OUT/cap" > experiments/lifecycle-guard-confidence/validation-cap.md
