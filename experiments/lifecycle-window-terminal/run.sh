#!/usr/bin/env bash
# The model lifecycle on post-MARI months with the current-market model as shipped after
# experiments/current-market-window-terminal (its planner values stored energy as the rolling MPC
# does), trained on pre-MARI prices only: experiments/lifecycle/run.sh with this record's model
# config and the guard chosen on validation replays in experiments/lifecycle-guard-choice
# (margin 50 EUR/day, no return to the model); same variants, shadows and retraining.
# Usage (repository root, release binary built): experiments/lifecycle-window-terminal/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-window-terminal/results.md
set -euo pipefail
MODEL_CONFIG=experiments/lifecycle-window-terminal/qrdqn-stale.toml MARGIN=50 RETURN_TO_MODEL=false \
  exec experiments/lifecycle/run.sh "$@"
