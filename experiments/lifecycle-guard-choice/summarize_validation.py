#!/usr/bin/env python3
"""The guard settings' validation tables: what the battery earned (EUR/day, mean over the days
and seeds) for each margin / return_to_model / confidence setting replayed by validate.sh, per period, beside
the model's own book and the shadows', and the choice: the setting with the best mean over the
periods of the battery's EUR/day divided by the best shadow's (each period weighs the same: a
model out of its market, a model in it). Usage: summarize_validation.py OUT > validation.md"""
import csv
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])
rows = {}
for f in sorted(out.glob("seed*/validate-*/days.csv")):
    period, setting = f.parent.name.removeprefix("validate-").split("-", 1)
    with open(f) as fh:
        days = list(csv.DictReader(fh))
    mean = lambda col: statistics.fmean(float(d[col]) for d in days if d[col] != "")
    shadow_days = sum(d["control"] != "model" for d in days)
    rows.setdefault(period, {}).setdefault(setting, []).append(
        (f.parent.parent.name, len(days), mean("sent_eur"), mean("model_eur"),
         mean("rule_eur"), mean("mpc_eur"), shadow_days))


def key(setting):
    margin, ret, *conf = setting.removeprefix("m").split("-")
    return (float(margin), ret, conf[0].removeprefix("c") if conf else "none")


score = {}
for period in sorted(rows, reverse=True):
    print(f"\n**{period}** ({'2024-05-22 .. 2024-06-30' if period == 'post' else '2023-03 .. 2023-08'})\n")
    print("| margin EUR/day | return_to_model | confidence | seeds | days | battery EUR/day | per seed | days a shadow decided | model's own book | rule shadow | MPC shadow | vs the best shadow |")
    print("|---:|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for setting in sorted(rows[period], key=key):
        r = rows[period][setting]
        margin, ret, conf = key(setting)
        per_seed = " / ".join(f"{x[2]:.1f}" for x in r)
        battery = statistics.fmean(x[2] for x in r)
        # The shadows' books differ a little between settings (the one in control follows the
        # real battery): the best shadow is judged on the model-only setting's books.
        ref = rows[period].get("m100000-false", r)
        best = max(statistics.fmean(x[4] for x in ref), statistics.fmean(x[5] for x in ref))
        score.setdefault(setting, []).append(battery / best)
        print(f"| {margin:g} | {ret} | {conf} | {len(r)} | {r[0][1]} | {battery:.1f} | {per_seed} | "
              f"{statistics.fmean(x[6] for x in r):.1f} | {statistics.fmean(x[3] for x in r):.1f} | "
              f"{statistics.fmean(x[4] for x in r):.1f} | {statistics.fmean(x[5] for x in r):.1f} | {battery / best:.3f}x |")
print("\n| margin EUR/day | return_to_model | confidence | mean over the periods, vs the best shadow |")
print("|---:|---|---|---:|")
for setting in sorted(score, key=key):
    margin, ret, conf = key(setting)
    print(f"| {margin:g} | {ret} | {conf} | {statistics.fmean(score[setting]):.3f}x |")
complete = [s for s in score if len(score[s]) == len(rows)]
if complete:
    chosen = max(complete, key=lambda s: statistics.fmean(score[s]))
    margin, ret, conf = key(chosen)
    print(f"\nChosen: margin {margin:g} EUR/day, return_to_model = {ret}, confidence {conf}.")
