#!/usr/bin/env bash
# The lifecycle of experiments/lifecycle-gate (same stale model, shadows, guard and margin) with
# every monthly retrain choosing what it deploys on its own days: `imbarb retrain
# --selection-days 14` trains up to 28 days before the month's end, chooses between its planner
# and its networks on the next 14 (a network only on a lead significant at 0.9, the model's
# gate) and is compared, for promotion, on the last 14, which chose nothing.
# Usage (repository root, release binary built): experiments/lifecycle-selection/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-selection/results.md
set -euo pipefail
MODEL_CONFIG=experiments/lifecycle-gate/qrdqn-stale.toml MARGIN=50 RETURN_TO_MODEL=false \
  RETRAIN_ARGS="--selection-days 14" exec experiments/lifecycle/run.sh "$@"
