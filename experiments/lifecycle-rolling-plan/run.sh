#!/usr/bin/env bash
# The model lifecycle on post-MARI months with the current-market model of
# experiments/current-market-rolling-plan (a residual QR-DQN whose planner plans over the MPC
# refit daily) trained on pre-MARI prices only: experiments/lifecycle/run.sh with this record's
# model config (same variants, shadows, guard and retraining).
# Usage (repository root, release binary built): experiments/lifecycle-rolling-plan/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle/oracle.json > experiments/lifecycle-rolling-plan/results.md
set -euo pipefail
MODEL_CONFIG=experiments/lifecycle-rolling-plan/qrdqn-stale.toml exec experiments/lifecycle/run.sh "$@"
