#!/usr/bin/env bash
# The model lifecycle with a daily cycle cap (1.1 cycles/day): experiments/lifecycle/run.sh (same
# variants, shadows refit daily on 28 days, guard window 7 days and margin 0, monthly retrain and
# promotion) with this record's model, the current-market default with a cap trained on
# pre-MARI prices only. The cap is the run's, so the shadows and retrained candidates have it too.
# Usage (repository root, release binary built): experiments/lifecycle-cap/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle-cap/oracle.json > experiments/lifecycle-cap/results.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL_CONFIG=experiments/lifecycle-cap/qrdqn-stale-cap.toml exec experiments/lifecycle/run.sh "$@"
