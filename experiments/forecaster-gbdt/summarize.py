#!/usr/bin/env python3
"""Tables of experiments/forecaster-gbdt: CRPS per horizon of the quantile MLP (mean of seeds
0-2), the gradient-boosted trees and the naive forecasts, with coverage and MAE of both models,
for each block that ran (paper split; post-MARI Oct-Dec 2024)."""
import json, sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")


def load(path):
    return {(s["forecast"], s["horizon"]): s for s in json.loads(path.read_text())}


def mean(xs):
    return sum(xs) / len(xs)


for block, title in [("paper", "Pre-MARI, paper split, test days"),
                     ("postmari", "Post-MARI Oct-Dec 2024, fitted on 2024-05-22 .. 09-16")]:
    gbdt_path = out / f"{block}-gbdt.json"
    mlps = sorted(out.glob(f"{block}-mlp-seed*.json"))
    if not gbdt_path.exists() or not mlps:
        continue
    gbdt = load(gbdt_path)
    mlp = [load(p) for p in mlps]
    naive = [n for n in ("persistence", "profile", "day-ahead") if (n, 1) in gbdt]
    horizons = sorted({h for (_, h) in gbdt})
    print(f"### {title}\n")
    head = "| horizon | CRPS MLP | CRPS trees | " + " | ".join(f"CRPS {n}" for n in naive)
    head += " | coverage MLP | coverage trees | MAE MLP | MAE trees |"
    print(head)
    print("|" + "---:|" * (3 + len(naive) + 4))
    rows = []
    for h in horizons:
        m = {k: mean([r[("forecaster", h)][k] for r in mlp]) for k in ("crps", "coverage_80", "mae_median")}
        g = gbdt[("forecaster", h)]
        cells = [f"{m['crps']:.1f}", f"{g['crps']:.1f}"]
        cells += [f"{gbdt[(n, h)]['crps']:.1f}" if (n, h) in gbdt else "-" for n in naive]
        cells += [f"{m['coverage_80']:.3f}", f"{g['coverage_80']:.3f}",
                  f"{m['mae_median']:.1f}", f"{g['mae_median']:.1f}"]
        print(f"| {h} | " + " | ".join(cells) + " |")
        rows.append((m["crps"], g["crps"]))
    mm, gm = mean([r[0] for r in rows]), mean([r[1] for r in rows])
    spread = [mean([r[("forecaster", h)]["crps"] for h in horizons]) for r in mlp]
    print(f"\nMean CRPS over horizons: MLP {mm:.2f} (seeds {', '.join(f'{s:.2f}' for s in spread)}), "
          f"trees {gm:.2f}; trees / MLP = {gm / mm:.3f}\n")


def policy_rows(path):
    """(name, EUR/day, % PF, cycles/day, CVaR 10 %) of every policy line of a backtest table."""
    rows = []
    for line in path.read_text().splitlines():
        if not line.startswith(("smpc(", "plan(")):
            continue
        name, rest = line[:47].strip(), line[47:].split()
        rows.append((name, float(rest[0]), float(rest[2]), float(rest[3]), float(rest[6])))
    return rows


def interval(xs):
    """Mean and 95 % Student-t half-width (n = 3: t = 4.303)."""
    m = mean(xs)
    if len(xs) < 2:
        return m, 0.0
    sd = (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5
    t = {2: 12.706, 3: 4.303, 4: 3.182}.get(len(xs), 2.0)
    return m, t * sd / len(xs) ** 0.5


for days in ("validation", "test"):
    found = sorted(out.glob(f"smpc-{days}-*.txt")) + sorted(out.glob(f"plan-{days}-*.txt"))
    if not found:
        continue
    print(f"### Planners, paper split, {days} days (EUR/day; smpc: mean of seeds 0-2 with 95 % interval)\n")
    print("| cap | policy | seeds | EUR/day | % PF | cycles/day | CVaR 10 % |")
    print("|---|---|---:|---|---:|---:|---:|")
    for cap in ("none", "1.1"):
        for model in ("mlp", "trees"):
            runs = [r for p in sorted(out.glob(f"smpc-{days}-{model}-seed*-cap{cap}.txt")) for r in policy_rows(p)]
            if runs:
                m, hw = interval([r[1] for r in runs])
                print(f"| {cap} | smpc over the {'MLP' if model == 'mlp' else 'trees'} | {len(runs)} | "
                      f"{m:.1f} ± {hw:.1f} | {mean([r[2] for r in runs]):.1f} | "
                      f"{mean([r[3] for r in runs]):.2f} | {mean([r[4] for r in runs]):.1f} |")
        p = out / f"plan-{days}-cap{cap}.txt"
        if p.exists():
            # `--policy plan,plan-trees`: the MLP's plan first (names are cut at 47 characters).
            for label, (name, eur, pf, cyc, cvar) in zip(("plan over the MLP", "plan over the trees"), policy_rows(p)):
                print(f"| {cap} | {label} | 1 | {eur:.1f} | {pf:.1f} | {cyc:.2f} | {cvar:.1f} |")
    print()

months = sorted(out.glob("plan-month-*.txt"))
if months:
    labels = ("plan over the MLP", "plan over the trees", "plan over the MPC refit daily, its window's value")
    print("### Planners, pre-MARI monthly walk-forward 2023-03 .. 08, no cap (EUR/day)\n")
    print("| month | days | " + " | ".join(labels) + " |")
    print("|---|---:|" + "---:|" * len(labels))
    totals, n_days = [0.0] * len(labels), 0
    for p in months:
        n = int(p.read_text().split()[0])
        eur = [r[1] for r in policy_rows(p)]
        n_days += n
        totals = [t + e * n for t, e in zip(totals, eur)]
        print(f"| {p.stem.removeprefix('plan-month-')} | {n} | " + " | ".join(f"{e:.1f}" for e in eur) + " |")
    print(f"| all | {n_days} | " + " | ".join(f"**{t / n_days:.1f}**" for t in totals) + " |\n")
