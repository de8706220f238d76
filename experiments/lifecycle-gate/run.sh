#!/usr/bin/env bash
# The model lifecycle on post-MARI months with the current-market model as shipped after
# experiments/residual-gate-choice (a network deployed over its planner only on a significant
# lead), trained on pre-MARI prices only: experiments/lifecycle/run.sh with this record's model
# config and the guard chosen on validation replays in experiments/lifecycle-guard-choice
# (margin 50 EUR/day, no return to the model); same variants, shadows and retraining.
# Usage (repository root, release binary built): experiments/lifecycle-gate/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-gate/results.md
set -euo pipefail
MODEL_CONFIG=experiments/lifecycle-gate/qrdqn-stale.toml MARGIN=50 RETURN_TO_MODEL=false \
  exec experiments/lifecycle/run.sh "$@"
