#!/usr/bin/env bash
# Choosing the guard's margin and return_to_model on validation days (issue #30): a model replayed
# through the service beside the rule and MPC shadows (refit daily on the last 28 days), once per
# guard setting, without retraining, on one of two periods (PERIOD):
#   post  the lifecycle's model (trained on pre-MARI prices only) on the post-MARI days before
#         the test months, 2024-05-22 .. 2024-06-30: a model out of its market;
#   pre   the same config trained on the pre-MARI days before 2023-03, on 2023-03 .. 2023-08:
#         a model in its own market, where every handover is a false alarm's cost.
# The test months (2024-07 .. 2024-12) are not read.
# Usage (repository root, release binary built):
#   experiments/lifecycle-guard-choice/validate.sh OUT SEED "MARGIN:RETURN[:CONFIDENCE] ..."
#   e.g. validate.sh runs/lguard 0 "0:false 0:true 50:false 50:true 50:false:0.9"
#   (CONFIDENCE: the guard's `confidence`; none when left out)
# Environment: PERIOD (post, default, or pre), MODEL_CONFIG (the post period's model config),
# PRE_MODEL_CONFIG (the pre period's).
# The post model is trained into OUT/seedSEED/model unless finished there
# (experiments/lifecycle/run.sh uses the same place), the pre model into OUT/seedSEED/model-pre.
set -euo pipefail
OUT=$1
SEED=$2
SETTINGS=$3
BIN=${IMBARB:-target/release/imbarb}
MODEL_CONFIG=${MODEL_CONFIG:-experiments/lifecycle-cap/qrdqn-stale-cap.toml}
PRE=../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv
POST=../shared/data/elia_be_imbalance_qh_2024-05_2024-12_postmari.csv
DA=../shared/data/be_day_ahead_price_qh_2024.csv
PERIOD=${PERIOD:-post}
D=$OUT/seed$SEED
case $PERIOD in
  post) MODEL=$D/model; DATA=("$PRE" "$POST" "$DA"); FROM=2024-05-22; TO=2024-06-30 ;;
  pre) MODEL=$D/model-pre; DATA=("$PRE"); FROM=2023-03-01; TO=2023-08-31
    MODEL_CONFIG=${PRE_MODEL_CONFIG:-experiments/lifecycle-guard-choice/qrdqn-pre-cap.toml} ;;
  *) echo "PERIOD must be post or pre, not $PERIOD" >&2; exit 2 ;;
esac
mkdir -p "$D"
if ! grep -q '"status": "finished"' "$MODEL/manifest.json" 2>/dev/null; then
  "$BIN" train --config "$MODEL_CONFIG" --seed "$SEED" --out "$MODEL" --quiet
fi
for setting in $SETTINGS; do
  IFS=: read -r margin ret conf <<< "$setting"
  V=$D/validate-$PERIOD-m$margin-$ret${conf:+-c$conf}
  # A finished setting is kept.
  [ -s "$V/days.csv" ] && continue
  rm -rf "$V"
  mkdir -p "$V"
  cat > "$V/live.toml" <<TOML
bind = "127.0.0.1:0"
journal = "journal.sqlite"
[shadow]
baselines = ["rule", "mpc"]
refit_days = 28
[guard]
window_days = 7
margin_eur_per_day = $margin
handover = true
return_to_model = $ret
TOML
  if [ -n "$conf" ]; then
    echo "confidence = $conf" >> "$V/live.toml"
  fi
  "$BIN" live --run "$MODEL" --config "$V/live.toml" --replay "${DATA[@]}" --from $FROM --to $TO
  "$BIN" live days --config "$V/live.toml" > "$V/days.tmp" && mv "$V/days.tmp" "$V/days.csv"
done
echo "done: $D"
