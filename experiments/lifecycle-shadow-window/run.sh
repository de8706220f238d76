#!/usr/bin/env bash
# The guard of experiments/lifecycle-rolling-plan with a longer shadow window: the same model,
# shadows and monthly retraining (the "guard" variant only), but once a shadow decides, another
# shadow takes control only if it earned more over the last 28 closed days (the shadows' refit
# window) instead of 7. Fixed before the run, not tuned on these months.
# Usage (repository root, release binary built): experiments/lifecycle-shadow-window/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-shadow-window/results.md
set -euo pipefail
cd "$(dirname "$0")/../.."
SHADOW_WINDOW_DAYS=28 MODEL_CONFIG=experiments/lifecycle-rolling-plan/qrdqn-stale.toml \
  exec experiments/lifecycle/run.sh "$1" "$2" guard
