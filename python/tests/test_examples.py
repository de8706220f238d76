"""The example and the side-by-side benchmark run end to end (small sizes): the one-minute
smoke of bench/peer_sb3.py and examples/cleanrl_dqn.py."""

import re
import subprocess
import sys

import pytest


def test_cleanrl_example_trains_and_backtests(root):
    pytest.importorskip("torch")
    out = subprocess.run(
        [sys.executable, str(root / "examples" / "cleanrl_dqn.py"), "--data", "synthetic",
         "--total-steps", "3000", "--learning-starts", "500"],
        capture_output=True, text=True, check=True, cwd=root,
    ).stdout
    assert re.search(r"BacktestResult\(cleanrl-dqn: -?[0-9.]+ EUR/day over 65 days", out)
    assert "BacktestResult(mpc(" in out


def test_peer_benchmark_smoke(root, tmp_path):
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("sb3_contrib")
    subprocess.run(
        [sys.executable, str(root / "bench" / "peer_sb3.py"), "--smoke", "--seeds", "0",
         "--out", str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=root,
    )
    table = (tmp_path / "results.md").read_text()
    # Both algorithms, both sides, with the same number of updates on each side (+- one round).
    rows = [l for l in table.splitlines() if l.startswith("| dqn") or l.startswith("| qrdqn")]
    assert len(rows) == 4
    updates = [int(r.split("|")[6]) for r in rows]
    assert abs(updates[0] - updates[1]) <= 16 and abs(updates[2] - updates[3]) <= 16
