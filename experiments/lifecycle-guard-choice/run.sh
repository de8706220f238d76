#!/usr/bin/env bash
# The lifecycle with a cycle cap (experiments/lifecycle-cap) with the guard setting chosen on
# validation replays (validate.sh, validation-cap.md): margin 50 EUR/day, no return to the model.
# Only the guard variant is replayed: the stale and retrained variants do not use the guard, and
# their days are those of experiments/lifecycle-cap (the same models: seeds 0-2 train to the same
# best validation, 397.6 / 432.8 / 384.3 EUR/day, at the same steps).
# Usage (repository root, release binary built): experiments/lifecycle-guard-choice/run.sh OUT SEED
# then: python3 experiments/lifecycle/summarize.py OUT experiments/lifecycle-cap/oracle.json
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL_CONFIG=experiments/lifecycle-cap/qrdqn-stale-cap.toml MARGIN=50 RETURN_TO_MODEL=false \
  exec experiments/lifecycle/run.sh "$1" "$2" guard
