"""The keyword arguments every simulating call shares, turned into the JSON the Rust core
resolves (``python/src/spec.rs``): an imbarb TOML config or a trained run as the base, then
data, split, day set, battery, decisions, actions and features as overrides."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping, Optional, Sequence, Union

from . import _imbarb

DataArg = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], None]


def sources(data: DataArg) -> Optional[list]:
    """Data sources as a list of strings (one source or several)."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return [os.fspath(data)]
    return [os.fspath(d) for d in data]


def _actions(actions: Any) -> Optional[str]:
    if actions is None:
        return None
    if isinstance(actions, int):
        return f"discrete:{actions}"
    return str(actions)


SIMULATION_ARGS = """Simulation arguments (keyword only; unset ones keep the base's values):
    config: an imbarb TOML config (e.g. ``configs/qrdqn.toml``): data, split and ``[env]``.
    run: a trained run directory: its config, observation normalised with the run's statistics.
    data: ``"belgium"``, ``"synthetic"``, a file or a list of files (default ``"belgium"``).
    split: ``"paper"``, ``"walk-forward:..."``, ``"explicit:..."`` (default ``"paper"``).
    days: ``"train"``, ``"validation"``, ``"test"`` or ``"all"``.
    battery: BatteryConfig keys, e.g. ``{"energy_mwh": 4.0}``.
    granularity: ``"qh"`` or ``"minute"``.  actions: ``"discrete:N"`` or ``"continuous"``.
    cap: daily cycle cap.  features: ``[env.observation]`` keys.
    levels_at_limits: ``"whole"`` or ``"clip"``.  minute_seed: surrogate estimates' seed.
    forecaster_cache: a folder where a config's forecaster (``forecast_features``) is kept and
        found again: the next call on the same data, days and settings reads it, not refits."""

_NAMES = (
    "data", "split", "days", "battery", "granularity", "actions", "cap", "features",
    "levels_at_limits", "config", "run", "minute_seed", "forecaster_cache",
)


def check_reward_scale(reward_scale: float) -> float:
    """The reward scale, refused unless finite and positive."""
    scale = float(reward_scale)
    if not (math.isfinite(scale) and scale > 0.0):
        raise _imbarb.ImbarbError(f"reward_scale {reward_scale!r}: expected a finite positive number")
    return scale


def spec_from(caller: str, simulation: dict, days: str) -> str:
    """The JSON for ``simulation`` (keyword arguments of ``caller``), ``days`` by default."""
    unknown = sorted(set(simulation) - set(_NAMES))
    if unknown:
        raise TypeError(
            f"{caller}() got unexpected keyword argument(s) {', '.join(unknown)}; "
            f"simulation arguments are {', '.join(_NAMES)}"
        )
    simulation = dict(simulation)
    simulation.setdefault("days", days)
    return spec_json(**simulation)


def spec_json(
    *,
    data: DataArg = None,
    split: Optional[str] = None,
    days: str = "train",
    battery: Optional[Mapping[str, Any]] = None,
    granularity: Optional[str] = None,
    actions: Any = None,
    cap: Optional[float] = None,
    features: Optional[Mapping[str, Any]] = None,
    levels_at_limits: Optional[str] = None,
    config: Union[str, "os.PathLike[str]", None] = None,
    run: Union[str, "os.PathLike[str]", None] = None,
    minute_seed: Optional[int] = None,
    forecaster_cache: Union[str, "os.PathLike[str]", None] = None,
) -> str:
    """The JSON document for the Rust core (unset arguments keep the base's values)."""
    spec = {
        "config": os.fspath(config) if config is not None else None,
        "run": os.fspath(run) if run is not None else None,
        "data": sources(data),
        "split": split,
        "days": days,
        "granularity": granularity,
        "actions": _actions(actions),
        "cap": cap,
        "battery": dict(battery or {}),
        "features": dict(features or {}),
        "levels_at_limits": levels_at_limits,
        "minute_seed": minute_seed,
        "forecaster_cache": os.fspath(forecaster_cache) if forecaster_cache is not None else None,
    }
    return json.dumps(spec)
