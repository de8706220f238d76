#!/usr/bin/env python3
"""Summarises scripts/quality_bar.sh: per algorithm and cap, mean test EUR/day over seeds with a
95 % Student-t interval, % of perfect foresight, cycles/day, the ratio to the best baseline in the
same (discrete) action space and to the best continuous-power baseline, and training throughput
read from each run's metrics.jsonl."""
import json
import statistics
import sys
from pathlib import Path

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}
AGENTS = ("qr-dqn", "iqn", "c51", "dqn", "sac", "dsac")
out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/quality")
lines = ["| algorithm | cap | test EUR/day (mean, 95 % CI) | % PF | cycles/day | vs best baseline, discrete | vs best baseline, continuous | env steps/s | updates/s | train min |",
         "|---|---|---|---|---|---|---|---|---|---|"]
base_lines = []
for cap in ["none", "1.1"]:
    bt = json.loads((out / f"backtest-cap{cap}.json").read_text())["metrics"]
    cont = json.loads((out / f"baselines-continuous-cap{cap}.json").read_text())["metrics"]
    baselines = {m["policy"]: m for m in bt if not m["policy"].split(":")[0] in AGENTS}
    best_d = max(m["eur_per_day"] for p, m in baselines.items() if not p.startswith("oracle"))
    best_c = max(m["eur_per_day"] for m in cont if not m["policy"].startswith("oracle"))
    for m in bt + cont:
        if m["policy"].split(":")[0] not in AGENTS:
            base_lines.append(f"| {m['policy']} | {cap} | {m['eur_per_day']:.1f} | {m['pct_of_perfect']:.1f} | {m['cycles_per_day']:.2f} |")
    groups = {}
    for m in bt:
        name = m["policy"]
        if name.split(":")[0] in AGENTS:
            algo = name.split(":")[0]
            groups.setdefault(algo, []).append(m)
    for algo, ms in groups.items():
        xs = [m["eur_per_day"] for m in ms]
        mean = statistics.mean(xs)
        half = T975.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else float("nan")
        pf = statistics.mean(m["pct_of_perfect"] for m in ms)
        cyc = statistics.mean(m["cycles_per_day"] for m in ms)
        runs = [out / (m["policy"].split(":", 1)[1]) for m in ms]
        sps, ups, mins = [], [], []
        for r in out.glob(f"{ {'qr-dqn': 'qrdqn'}.get(algo, algo)}-cap{cap}-seed*"):
            last = [json.loads(l) for l in (r / "metrics.jsonl").read_text().splitlines()][-1]
            sps.append(last["env_steps_per_s"]); ups.append(last["updates_per_s"]); mins.append(last["wall_s"] / 60)
        lines.append(
            f"| {algo} | {cap} | {mean:.1f} ± {half:.1f} | {pf:.1f} | {cyc:.2f} | {mean / best_d:.2f}x ({best_d:.1f}) | {mean / best_c:.2f}x ({best_c:.1f}) | "
            f"{statistics.mean(sps):.0f} | {statistics.mean(ups):.0f} | {max(mins):.1f} |")
text = "\n".join(lines) + "\n\nBaselines (discrete:3 and continuous):\n\n| policy | cap | EUR/day | % PF | cycles/day |\n|---|---|---|---|---|\n" + "\n".join(base_lines) + "\n"
(out / "summary.md").write_text(text)
print(text)
