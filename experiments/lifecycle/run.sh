#!/usr/bin/env bash
# The model lifecycle on post-MARI months (issue #30), as an operator would run it: a QR-DQN
# trained on pre-MARI prices is deployed on 2024-07-01 and replayed through the service to
# 2024-12-31 beside the rule and MPC shadows (refit daily on the last 28 days), three ways:
#   stale    the model alone (the guard only alerts);
#   retrain  retrained at every month's end (imbarb retrain) and promoted regardless (--force);
#   guard    the guard hands control to the best shadow after 7 trailing days, and a monthly
#            retrain is promoted only when it beats the champion and the baselines on the last
#            14 days (imbarb promote without --force).
# Usage (repository root, release binary built):
#   experiments/lifecycle/run.sh OUT SEED [VARIANTS]   (VARIANTS default: "stale retrain guard")
# Environment: MODEL_CONFIG (the deployed model's training config), SHADOW_WINDOW_DAYS (the
# guard's shadow_window_days; unset: the guard's 7-day window), MARGIN (the guard's
# margin_eur_per_day, default 0), RETURN_TO_MODEL (the guard's return_to_model, default false),
# RETRAIN_ARGS (more options for every imbarb retrain, e.g. "--selection-days 14"), CONFIDENCE
# (the guard's confidence; unset: none).
set -euo pipefail
OUT=$1
SEED=$2
VARIANTS=${3:-stale retrain guard}
BIN=${IMBARB:-target/release/imbarb}
# The model deployed at the start (experiments/lifecycle-rolling-plan sets its own).
MODEL_CONFIG=${MODEL_CONFIG:-experiments/lifecycle/qrdqn-stale.toml}
PRE=../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv
POST=../shared/data/elia_be_imbalance_qh_2024-05_2024-12_postmari.csv
DA=../shared/data/be_day_ahead_price_qh_2024.csv
D=$OUT/seed$SEED
mkdir -p "$D"
MODEL=$D/model
# A finished model is kept (train would resume an unfinished one).
if ! grep -q '"status": "finished"' "$MODEL/manifest.json" 2>/dev/null; then
  "$BIN" train --config "$MODEL_CONFIG" --seed "$SEED" --out "$MODEL" --quiet
fi
months=(2024-07 2024-08 2024-09 2024-10 2024-11 2024-12)
month_end() { date -d "$1-01 +1 month -1 day" +%F; }
for variant in $VARIANTS; do
  V=$D/$variant
  mkdir -p "$V/deploy"
  ln -sfn "$(realpath "$MODEL")" "$V/deploy/current"
  handover=false
  [ "$variant" = guard ] && handover=true
  cat > "$V/live.toml" <<TOML
bind = "127.0.0.1:0"
journal = "journal.sqlite"
[shadow]
baselines = ["rule", "mpc"]
refit_days = 28
[guard]
window_days = 7
margin_eur_per_day = ${MARGIN:-0.0}
handover = $handover
return_to_model = ${RETURN_TO_MODEL:-false}
TOML
  if [ -n "${CONFIDENCE:-}" ]; then
    echo "confidence = $CONFIDENCE" >> "$V/live.toml"
  fi
  if [ -n "${SHADOW_WINDOW_DAYS:-}" ]; then
    echo "shadow_window_days = $SHADOW_WINDOW_DAYS" >> "$V/live.toml"
  fi
  for m in "${months[@]}"; do
    end=$(month_end "$m")
    "$BIN" live --run "$V/deploy/current" --config "$V/live.toml" --replay "$PRE" "$POST" "$DA" --from "$m-01" --to "$end"
    if [ "$variant" != stale ] && [ "$m" != 2024-12 ]; then
      "$BIN" retrain --run "$V/deploy/current" --data "$PRE" "$POST" "$DA" --until "$end" --out "$V/cand-$m" --quiet ${RETRAIN_ARGS:-}
      force=""
      [ "$variant" = retrain ] && force=--force
      "$BIN" promote --candidate "$V/cand-$m" --live "$V/deploy/current" $force || echo "$m: not promoted"
    fi
  done
  "$BIN" live days --config "$V/live.toml" > "$V/days.csv"
done
echo "done: $D"
