#!/usr/bin/env bash
# The shipped no-cap default through the service on the post-MARI months: experiments/lifecycle/run.sh
# with this record's model (configs/qrdqn-current-market.toml trained on pre-MARI prices only),
# monthly retraining that lets the planner compete (--selection-days 14) and the guard of
# experiments/lifecycle-gate (margin 50, no return), for comparison with the model alone, which
# experiments/lifecycle-guard-confidence's validation replays chose for this model.
# Usage (repository root, release binary built): experiments/lifecycle-default/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-default/results.md
set -euo pipefail
MODEL_CONFIG=experiments/lifecycle-default/qrdqn-stale.toml MARGIN=50 RETURN_TO_MODEL=false \
  RETRAIN_ARGS="--selection-days 14" exec experiments/lifecycle/run.sh "$@"
