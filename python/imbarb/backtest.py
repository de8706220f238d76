"""Market data and backtests as pandas objects.

``read_market`` reads any layout imbarb reads (Elia, TenneT, canonical CSV; the embedded
``belgium`` prices; ``synthetic``) with the Rust readers. ``backtest`` runs a named policy
(``rule``, ``schedule``, ``mpc``, ``smpc``, ``idle``, ``oracle``, ``run:DIR``) exactly as ``imbarb
backtest`` does, or any Python policy (an SB3 model, a loaded run, a function of the
observation and mask) through the same rollout and bookkeeping."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from . import _imbarb
from ._spec import SIMULATION_ARGS, sources, spec_from


def read_market(data, minutes: bool = False) -> pd.DataFrame:
    """The quarter-hour prices of ``data`` (one source or a list), one row per quarter-hour
    with ``timestamp_utc`` (UTC), the price column(s), the system components present, the
    day-ahead price where a day-ahead file is among the sources, and ``quality_status``; with
    ``minutes=True`` the per-minute running estimates instead."""
    qh, minute, day_ahead = _imbarb.market_csv(sources(data))
    if minutes:
        frame = pd.read_csv(io.StringIO(minute), keep_default_na=False, na_values=[""])
        for col in ("minute_utc", "quarter_hour_start_utc"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame
    frame = pd.read_csv(io.StringIO(qh), keep_default_na=False, na_values=[""])
    frame["timestamp_utc"] = pd.to_datetime(frame["timestamp_utc"], utc=True)
    da = pd.read_csv(io.StringIO(day_ahead))
    if len(da):
        da["timestamp_utc"] = pd.to_datetime(da["timestamp_utc"], utc=True)
        frame = frame.merge(da, on="timestamp_utc", how="left")
    return frame


@dataclass
class BacktestResult:
    """A policy's backtest: the per-quarter-hour ``ledger``, the per-day ``daily`` P&L, the
    ``metrics`` (EUR/day, % of perfect foresight, cycles, risk) and what was evaluated."""

    policy: str
    ledger: pd.DataFrame
    daily: pd.DataFrame
    metrics: dict
    description: str
    data_hash: str
    oracle_method: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def eur_per_day(self) -> float:
        """Mean profit per day, EUR."""
        return float(self.metrics["eur_per_day"])

    def __repr__(self) -> str:
        m = self.metrics
        pct = m.get("pct_of_perfect")
        pct_text = "" if pct is None else f", {pct:.1f} % of perfect foresight"
        return (
            f"BacktestResult({self.policy}: {m['eur_per_day']:.1f} EUR/day over {m['days']} days"
            f"{pct_text}, {m['cycles_per_day']:.2f} cycles/day)"
        )


def _as_callable(policy: Any) -> Optional[Callable]:
    """A Python policy as ``f(obs, mask) -> action``: objects with SB3's ``predict`` (masks
    passed to those that take ``action_masks``), or callables."""
    predict = getattr(policy, "predict", None)
    if predict is not None:
        import inspect

        try:
            takes_masks = "action_masks" in inspect.signature(predict).parameters
        except (TypeError, ValueError):
            takes_masks = False

        def act(obs, mask):
            if takes_masks:
                action, _ = predict(obs, deterministic=True, action_masks=mask)
            else:
                action, _ = predict(obs, deterministic=True)
            return float(np.asarray(action, dtype=np.float64).reshape(-1)[0])

        return act
    if callable(policy):
        return policy
    return None


def backtest(
    policy,
    *,
    name: Optional[str] = None,
    mpc_horizon: Optional[int] = None,
    **simulation,
) -> BacktestResult:
    """Backtests ``policy`` on a day set (default ``days="test"``) with the SoC carried between
    consecutive days, against the perfect-foresight optimum on the same days.

    ``policy``: a name (``"rule"``, ``"schedule"``, ``"mpc"``, ``"smpc"``, ``"plan"``, ``"idle"``,
    ``"oracle"``, ``"run:DIR"``, ``"run-plan:DIR"``), a loaded run (``load_run``: its own observation unless ``config`` or
    ``run`` says otherwise), an object with SB3's ``predict``, or a callable ``policy(obs,
    mask) -> action`` seeing the observation the simulation arguments describe. ``name``
    labels a Python policy; ``mpc_horizon`` is the MPC's look-ahead in quarter-hours.

    """
    from .runs import RunPolicy

    if isinstance(policy, RunPolicy) and "config" not in simulation and "run" not in simulation:
        simulation = dict(simulation, run=policy.dir)
    spec = spec_from("backtest", simulation, "test")
    kwargs = {}
    if mpc_horizon is not None:
        kwargs["mpc_horizon"] = int(mpc_horizon)
    if isinstance(policy, str):
        raw = _imbarb.backtest(spec, policy, name, **kwargs)
    else:
        f = _as_callable(policy)
        if f is None:
            raise _imbarb.ImbarbError(
                f"policy {policy!r}: expected a name, a loaded run, an object with predict() or a callable"
            )
        label = name or getattr(policy, "name", None) or type(policy).__name__
        raw = _imbarb.backtest(spec, f, label, **kwargs)
    out = json.loads(raw)
    ledger = pd.read_csv(io.StringIO(out["ledger_csv"]))
    daily = pd.read_csv(io.StringIO(out["daily_csv"]))
    return BacktestResult(
        policy=out["policy"],
        ledger=ledger,
        daily=daily,
        metrics=out["metrics"],
        description=out["description"],
        data_hash=out["data_hash"],
        oracle_method=out["oracle_method"],
    )


def oracle(**simulation) -> BacktestResult:
    """The perfect-foresight optimum replayed in the simulator (default ``days="test"``).

    """
    return backtest("oracle", **simulation)


backtest.__doc__ += SIMULATION_ARGS
oracle.__doc__ += SIMULATION_ARGS
