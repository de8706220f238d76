#!/usr/bin/env python3
"""Summarises scripts/quality_bar.sh: per algorithm and cap, mean test EUR/day over seeds with a
95 % Student-t interval, % of perfect foresight, cycles/day, the ratio to the best baseline in the
same action space and to the best continuous-power baseline, and training throughput read from
each run's metrics.jsonl. Runs are grouped by their directory name before `-cap`."""
import json
import statistics
import sys
from pathlib import Path

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}
out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/quality")


def is_run(m):
    """Runs are named `<algo>:<run directory>`; baselines have no such prefix."""
    return ":" in m["policy"] and (out / m["policy"].split(":", 1)[1]).is_dir()


def group(m):
    """A run's group: its directory name before `-cap` (e.g. dsac-continuous)."""
    return m["policy"].split(":", 1)[1].split("-cap")[0]


lines = ["| agent | actions | cap | test EUR/day (mean, 95 % CI) | % PF | cycles/day | vs best baseline, same actions | vs best baseline, continuous | env steps/s | updates/s | train min |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
base_lines = []
for cap in ["none", "1.1"]:
    bt = json.loads((out / f"backtest-cap{cap}.json").read_text())["metrics"]
    cont = json.loads((out / f"baselines-continuous-cap{cap}.json").read_text())["metrics"]
    best_d = max(m["eur_per_day"] for m in bt if not is_run(m) and not m["policy"].startswith("oracle"))
    best_c = max(m["eur_per_day"] for m in cont if not is_run(m) and not m["policy"].startswith("oracle"))
    for space, ms in (("discrete:3", bt), ("continuous", cont)):
        for m in ms:
            if not is_run(m):
                base_lines.append(f"| {m['policy']} | {space} | {cap} | {m['eur_per_day']:.1f} | {m['pct_of_perfect']:.1f} | {m['cycles_per_day']:.2f} |")
    for space, ms, best_same in (("3 levels", bt, best_d), ("continuous", cont, best_c)):
        groups = {}
        for m in ms:
            if is_run(m):
                groups.setdefault(group(m), []).append(m)
        for name, runs in groups.items():
            xs = [m["eur_per_day"] for m in runs]
            mean = statistics.mean(xs)
            half = T975.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else float("nan")
            pf = statistics.mean(m["pct_of_perfect"] for m in runs)
            cyc = statistics.mean(m["cycles_per_day"] for m in runs)
            sps, ups, mins = [], [], []
            for m in runs:
                r = out / m["policy"].split(":", 1)[1]
                last = [json.loads(l) for l in (r / "metrics.jsonl").read_text().splitlines()][-1]
                sps.append(last["env_steps_per_s"]); ups.append(last["updates_per_s"]); mins.append(last["wall_s"] / 60)
            lines.append(
                f"| {name} | {space} | {cap} | {mean:.1f} ± {half:.1f} (n={len(xs)}) | {pf:.1f} | {cyc:.2f} | {mean / best_same:.2f}x ({best_same:.1f}) | {mean / best_c:.2f}x ({best_c:.1f}) | "
                f"{statistics.mean(sps):.0f} | {statistics.mean(ups):.0f} | {max(mins):.1f} |")
text = "\n".join(lines) + "\n\nBaselines:\n\n| policy | actions | cap | EUR/day | % PF | cycles/day |\n|---|---|---|---|---|---|\n" + "\n".join(base_lines) + "\n"
(out / "summary.md").write_text(text)
print(text)
