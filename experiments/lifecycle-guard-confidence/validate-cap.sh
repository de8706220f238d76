#!/usr/bin/env bash
# The capped lifecycle's guard with a confidence, on experiments/lifecycle-guard-choice's
# validation replays: its models (experiments/lifecycle-cap/qrdqn-stale-cap.toml for the post
# period, ../lifecycle-guard-choice/qrdqn-pre-cap.toml for the pre period), the settings given.
# The margin-only settings (50:false, 100000:false) were replayed by that record with the same
# models (same seeds, same best validations): copy its out-cap/seedN/validate-*/days.csv into
# OUT/seedN first to compare without replaying them again.
# Usage (repository root, release binary built):
#   experiments/lifecycle-guard-confidence/validate-cap.sh OUT SEED "50:false:0.9 0:false:0.9"
set -euo pipefail
for period in post pre; do
  PERIOD=$period MODEL_CONFIG=experiments/lifecycle-cap/qrdqn-stale-cap.toml \
    PRE_MODEL_CONFIG=experiments/lifecycle-guard-choice/qrdqn-pre-cap.toml \
    experiments/lifecycle-guard-choice/validate.sh "$@"
done
