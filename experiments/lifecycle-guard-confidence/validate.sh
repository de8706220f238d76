#!/usr/bin/env bash
# Choosing the guard's confidence on validation replays: experiments/lifecycle-guard-choice/validate.sh
# with experiments/lifecycle-gate's model (post period) and the same config trained before
# 2023-03 (pre period), both periods in turn, for the settings given (MARGIN:RETURN[:CONFIDENCE]).
# Usage (repository root, release binary built):
#   experiments/lifecycle-guard-confidence/validate.sh OUT SEED "50:false 50:false:0.9 0:false:0.9"
# then: python3 experiments/lifecycle-guard-choice/summarize_validation.py OUT > experiments/lifecycle-guard-confidence/validation.md
set -euo pipefail
for period in post pre; do
  PERIOD=$period MODEL_CONFIG=experiments/lifecycle-gate/qrdqn-stale.toml \
    PRE_MODEL_CONFIG=experiments/lifecycle-guard-confidence/qrdqn-pre-gate.toml \
    experiments/lifecycle-guard-choice/validate.sh "$@"
done
