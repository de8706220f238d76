"""Summarises experiments/planners: the forecaster's CRPS per horizon (mean over seeds) against
the naive forecasts, and the stochastic MPC's test EUR/day (mean and 95 % t interval over
seeds) beside the deterministic MPC and the rule. Prints markdown."""

import json
import math
import pathlib
import re
import statistics

HERE = pathlib.Path(__file__).resolve().parent
T95 = {2: 12.706, 3: 4.303}


def interval(values):
    m = statistics.mean(values)
    if len(values) < 2:
        return m, float("nan")
    return m, T95.get(len(values), 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def forecast_table():
    runs = [json.loads(p.read_text()) for p in sorted(HERE.glob("forecast-seed*.json"))]
    names = list(dict.fromkeys(s["forecast"] for s in runs[0]))
    horizons = sorted({s["horizon"] for s in runs[0]})
    lines = [
        f"Forecaster: mean of {len(runs)} seeds; naive forecasts are deterministic.",
        "",
        "| horizon | " + " | ".join(f"CRPS {n}" for n in names) + " | coverage 80 % | MAE median |",
        "|---:|" + "---:|" * (len(names) + 2),
    ]
    for h in horizons:
        cells = []
        for n in names:
            v = [s["crps"] for r in runs for s in r if s["forecast"] == n and s["horizon"] == h]
            cells.append(f"{statistics.mean(v):.1f}" if v else "-")
        cov = statistics.mean(
            s["coverage_80"] for r in runs for s in r if s["forecast"] == "forecaster" and s["horizon"] == h
        )
        mae = statistics.mean(
            s["mae_median"] for r in runs for s in r if s["forecast"] == "forecaster" and s["horizon"] == h
        )
        lines.append(f"| {h} | " + " | ".join(cells) + f" | {cov:.3f} | {mae:.1f} |")
    return "\n".join(lines)


ROW = re.compile(r"^(\S.*?)\s{2,}(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)")


def policies(path):
    out = {}
    for line in path.read_text().splitlines():
        m = ROW.match(line)
        if m and not line.startswith("policy"):
            name = m.group(1).split("(")[0].strip()
            out[name] = {
                "eur_per_day": float(m.group(2)),
                "pct": float(m.group(4)),
                "cycles": float(m.group(5)),
                "var10": float(m.group(7)),
                "cvar10": float(m.group(8)),
            }
    return out


def policy_rows(files):
    """Table cells per policy from backtest outputs of seeds 0.. (`files`, seed 0 first): the
    deterministic policies from seed 0, the stochastic MPC over every seed."""
    seed0 = policies(files[0])
    smpc = [policies(p)["smpc"] for p in files]
    rows = [(n, [v]) for n, v in seed0.items() if n != "smpc"]
    rows.insert(len(rows) - 1, ("smpc", smpc))
    out = []
    for name, vals in rows:
        m, h = interval([v["eur_per_day"] for v in vals])
        mean = lambda k: statistics.mean(v[k] for v in vals)
        ci = "" if len(vals) < 2 else f" ± {h:.1f}"
        out.append(
            f"{name} | {len(vals)} | {m:.1f}{ci} | {mean('pct'):.1f} | {mean('cycles'):.2f} | "
            f"{mean('var10'):.1f} | {mean('cvar10'):.1f} |"
        )
    return out


def backtest_table():
    lines = [
        "| cap | policy | seeds | EUR/day (mean, 95 % CI) | % of optimum | cycles/day | VaR 10 % | CVaR 10 % |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for cap in ("nocap", "cap1.1"):
        files = sorted((HERE / "out").glob(f"{cap}-seed*.txt"))
        label = "none" if cap == "nocap" else "1.1"
        lines += [f"| {label} | {row}" for row in policy_rows(files)]
    return "\n".join(lines)


def postmari_forecast_table():
    """day-ahead.sh: the forecaster with and without the day-ahead curve, post-MARI block."""
    runs = {
        v: [json.loads(p.read_text()) for p in sorted(HERE.glob(f"postmari-forecast-{v}-seed*.json"))]
        for v in ("day-ahead", "no-day-ahead")
    }
    if not runs["day-ahead"]:
        return ""
    first = runs["day-ahead"][0]
    naive = [n for n in dict.fromkeys(s["forecast"] for s in first) if n != "forecaster"]
    horizons = sorted({s["horizon"] for s in first})
    n = len(runs["day-ahead"])
    lines = [
        f"Forecaster offered the day-ahead curve (kept where it validated better) and without it: mean of {n} seeds; naive forecasts are deterministic.",
        "",
        "| horizon | CRPS offered the curve | CRPS without | " + " | ".join(f"CRPS {x}" for x in naive)
        + " | coverage 80 % offered | coverage 80 % without |",
        "|---:|" + "---:|" * (len(naive) + 4),
    ]

    def mean(v, name, h, key):
        vals = [s[key] for r in runs[v] for s in r if s["forecast"] == name and s["horizon"] == h]
        return statistics.mean(vals)

    for h in horizons:
        cells = [f"{mean('day-ahead', 'forecaster', h, 'crps'):.1f}", f"{mean('no-day-ahead', 'forecaster', h, 'crps'):.1f}"]
        cells += [f"{mean('day-ahead', x, h, 'crps'):.1f}" for x in naive]
        cells += [f"{mean(v, 'forecaster', h, 'coverage_80'):.3f}" for v in ("day-ahead", "no-day-ahead")]
        lines.append(f"| {h} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def postmari_backtest_table():
    """day-ahead.sh: the stochastic MPC beside the MPC blending the curve in."""
    files = sorted((HERE / "out").glob("postmari-day-ahead-seed*.txt"))
    if not files:
        return ""
    lines = [
        "| policy | seeds | EUR/day (mean, 95 % CI) | % of optimum | cycles/day | VaR 10 % | CVaR 10 % |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    return "\n".join(lines + [f"| {row}" for row in policy_rows(files)])


if __name__ == "__main__":
    print("# Forecasts and the stochastic MPC (pre-MARI, paper split, test days)\n")
    print(forecast_table())
    print()
    print(backtest_table())
    post = postmari_forecast_table()
    if post:
        print("\n# Post-MARI, October-December 2024, fitted on May-September (day-ahead.sh)\n")
        print(post)
        print()
        print(postmari_backtest_table())
