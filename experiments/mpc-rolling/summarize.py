#!/usr/bin/env python3
"""results.md of experiments/mpc-rolling from the JSON backtests run.sh wrote (usage: summarize.py OUT)."""
import json
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "out"


def load(name):
    with open(f"{out}/{name}") as f:
        return json.load(f)


def short(policy):
    days = re.search(r"\((\d+) days", policy)
    base = policy.split("(")[0].strip()
    if base == "threshold":
        base = "rule"
    if base.startswith("oracle"):
        return "oracle (optimum replayed in the simulator)"
    return f"{base} ({days.group(1)} days)" if days else base


print("# The MPC refit every day on recent days (`mpc-rolling`) beside the MPC fitted once\n")
print("3-level actions, SoC carried over; EUR/day on the evaluation days, % of the perfect-foresight "
      "optimum on the same days and constraints. Backtests are deterministic (no seed).\n")
for split, label in [
    ("paper", "Paper split (embedded pre-MARI prices; 70 validation / 75 test days)"),
    ("postmari", "Post-MARI: test 2024-07-01 .. 2024-12-31 (184 days), validation the 14 days before July"),
]:
    print(f"## {label}\n")
    for days in ["validation", "test"]:
        a, b = load(f"{split}-{days}-cap-none.json"), load(f"{split}-{days}-cap-1.1.json")
        print(f"### {days} days (optimum: {a['oracle']['eur_per_day']:.1f} / {b['oracle']['eur_per_day']:.1f} EUR/day)\n")
        print("| policy | no cap EUR/day | % PF | cycles/day | 1.1 cycles/day EUR/day | % PF |")
        print("|---|---:|---:|---:|---:|---:|")
        for ma, mb in zip(a["metrics"], b["metrics"]):
            print(f"| {short(ma['policy'])} | {ma['eur_per_day']:.1f} | {ma['pct_of_perfect']:.1f} | "
                  f"{ma['cycles_per_day']:.2f} | {mb['eur_per_day']:.1f} | {mb['pct_of_perfect']:.1f} |")
        print()
