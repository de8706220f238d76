#!/usr/bin/env bash
# The DSAC risk study on real Belgian prices: the actor maximises E[Z] + beta VaR_0.1(Z) for each
# beta in BETAS and seed in SEEDS (configs/dsac.toml with beta replaced; JOBS runs at a time, no
# cycle cap), then backtests every run on the test days and prints, per beta, the mean over seeds
# of EUR/day, the std, VaR_10% and CVaR_10% of daily P&L, and cycles/day: the risk-return frontier.
#
#   scripts/risk_study.sh                       # betas 0 0.5 1 3, seeds 0 1 2
#   BETAS="0 3" SEEDS="0" scripts/risk_study.sh
#
# Finished runs are skipped (imbarb train resumes or returns at once), so it can be re-run.
set -euo pipefail
DATA=${DATA:-../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv}
OUT=${OUT:-runs/risk}
JOBS=${JOBS:-2}
BETAS=${BETAS:-"0 0.5 1 3"}
SEEDS=${SEEDS:-"0 1 2"}
cargo build --release --quiet
BIN=target/release/imbarb
mkdir -p "$OUT/logs"
cmds=()
policies=""
for beta in $BETAS; do
  value=$beta; [[ $value == *.* ]] || value="$value.0"   # a TOML float
  sed "s/^beta = .*/beta = $value/" configs/dsac.toml > "$OUT/dsac-beta$beta.toml"
  for seed in $SEEDS; do
    run="$OUT/dsac-beta$beta-seed$seed"
    cmds+=("$BIN train --config $OUT/dsac-beta$beta.toml --data $DATA --seed $seed --out $run --quiet > $OUT/logs/dsac-beta$beta-seed$seed.log 2>&1")
    policies="$policies${policies:+,}run:$run"
  done
done
printf '%s\n' "${cmds[@]}" | xargs -P "$JOBS" -I{} bash -c '{}'
$BIN backtest --data "$DATA" --actions discrete:3 --policy "$policies" --json > "$OUT/backtest.json"
python3 - "$OUT/backtest.json" <<'PY'
import json, re, statistics, sys
groups = {}
for m in json.load(open(sys.argv[1]))["metrics"]:
    beta = float(re.search(r"dsac-beta([0-9.]+)-seed", m["policy"]).group(1))
    groups.setdefault(beta, []).append(m)
print("| beta | runs | EUR/day | std/day | VaR 10 % | CVaR 10 % | cycles/day |")
print("|---|---|---|---|---|---|---|")
for beta in sorted(groups):
    ms = groups[beta]
    avg = lambda k: statistics.mean(m[k] for m in ms)
    print(f"| {beta:g} | {len(ms)} | {avg('eur_per_day'):.1f} | {avg('daily_std_eur'):.1f} | "
          f"{avg('var_10_eur'):.1f} | {avg('cvar_10_eur'):.1f} | {avg('cycles_per_day'):.2f} |")
PY
