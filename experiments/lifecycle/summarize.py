#!/usr/bin/env python3
"""Summarises experiments/lifecycle/run.sh outputs: EUR/day per month for each way of running the
model, the shadow baselines, and the optimum, as a markdown table (means over seeds, 95 % t
intervals), plus handovers and promotions per seed.

Usage: summarize.py OUT ORACLE_JSON  (OUT holds seedN/{stale,retrain,guard}/days.csv; ORACLE_JSON
is `imbarb oracle --json` over the same days)."""

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

T95 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}
MONTHS = ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]


def read(path):
    return list(csv.DictReader(open(path)))


def per_month(rows, column):
    out = defaultdict(list)
    for r in rows:
        if r[column] != "":
            out[r["day"][:7]].append(float(r[column]))
    return {m: sum(v) / len(v) for m, v in out.items()}, sum(
        sum(v) for v in out.values()
    ) / sum(len(v) for v in out.values())


def mean_ci(values):
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1))
    return m, T95.get(n, 1.96) * sd / math.sqrt(n)


def main():
    out, oracle_json = Path(sys.argv[1]), sys.argv[2]
    seeds = sorted(p for p in out.glob("seed*") if (p / "guard" / "days.csv").exists())
    oracle = json.load(open(oracle_json))
    om = defaultdict(list)
    for d in oracle["daily"]:
        om[d["date"][:7]].append(d["profit_eur"])
    optimum = {m: sum(v) / len(v) for m, v in om.items()}
    optimum_all = oracle["eur_per_day"]
    rows = [
        ("stale model alone", "stale", "sent_eur"),
        ("retrained monthly, no guard", "retrain", "sent_eur"),
        ("stale + guard + monthly retrain", "guard", "sent_eur"),
        ("... first guard design (control stayed with the first shadow)", "guard-v1", "sent_eur"),
        ("rule shadow (refit daily, 28 days)", "stale", "rule_eur"),
        ("MPC shadow (refit daily, 28 days)", "stale", "mpc_eur"),
    ]
    lines = [
        f"{len(seeds)} seeds; EUR/day; months are means over seeds, 'all' is the mean over the "
        "184 days with a 95 % t interval over seeds.",
        "",
        "| | " + " | ".join(MONTHS) + " | all | % of optimum |",
        "|---|" + "---:|" * (len(MONTHS) + 2),
    ]
    for label, variant, column in rows:
        if not all((s / variant / "days.csv").exists() for s in seeds):
            continue
        months = defaultdict(list)
        alls = []
        for s in seeds:
            m, a = per_month(read(s / variant / "days.csv"), column)
            for k, v in m.items():
                months[k].append(v)
            alls.append(a)
        mean, half = mean_ci(alls)
        cells = [f"{sum(months[m]) / len(months[m]):.1f}" for m in MONTHS]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {mean:.1f} ± {half:.1f} | {100 * mean / optimum_all:.1f} % |"
        )
    lines.append(
        "| optimum (perfect foresight) | "
        + " | ".join(f"{optimum[m]:.1f}" for m in MONTHS)
        + f" | {optimum_all:.1f} | 100 % |"
    )
    lines += [
        "",
        "| seed | guard: first handover | days a shadow decided (rule / MPC) | switches between shadows | promotions | refused |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in seeds:
        days = read(s / "guard" / "days.csv")
        first = next((r["day"] for r in days if r["control"] != "model"), "none")
        rule_days = sum(r["control"] == "rule shadow" for r in days)
        mpc_days = sum(r["control"] == "mpc shadow" for r in days)
        switches = sum(
            a["control"] != b["control"] and a["control"] != "model" and b["control"] != "model"
            for a, b in zip(days, days[1:])
        )
        hist = s / "guard" / "promotions.jsonl"
        if not hist.exists():
            hist = s / "guard" / "deploy" / "current.promotions.jsonl"
        promoted = len(hist.read_text().splitlines()) if hist.exists() else 0
        lines.append(
            f"| {s.name} | {first} | {rule_days} / {mpc_days} | {switches} | {promoted} | {5 - promoted} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
