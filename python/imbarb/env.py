"""The simulator as Gymnasium environments: one Brussels day per episode, a battery settled at
the imbalance price of every quarter-hour, stepped in Rust.

An episode ends with ``truncated`` when the next calendar day is in the data (the battery goes
on: the last observation is that day's first, with the SoC carried over and a fresh cycle
budget), and with ``terminated`` where the data stops or has a gap (the observation is zeros).
Rewards are EUR (times ``reward_scale``)."""

from __future__ import annotations

from typing import Any, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _imbarb
from ._spec import SIMULATION_ARGS, check_reward_scale, spec_from

INFO_FIELDS = tuple(_imbarb.INFO_FIELDS)


def _spaces(core: "_imbarb.Envs"):
    obs = spaces.Box(-np.inf, np.inf, shape=(core.observation_width,), dtype=np.float32)
    if core.n_actions > 0:
        act = spaces.Discrete(core.n_actions)
    else:
        act = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    return obs, act


def _one_action(action: Any) -> float:
    """A level index or a power fraction, from a number or a one-element array (the Rust core
    checks its range)."""
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.size != 1:
        raise _imbarb.ImbarbError(f"action {action!r}: expected one action, got {a.size} numbers")
    return float(a[0])


class _Buffers:
    """The arrays the Rust core writes each step into (one row per environment), allocated once."""

    def __init__(self, core: "_imbarb.Envs", n: int):
        w, a = core.observation_width, core.n_actions
        self.obs = np.zeros((n, w), dtype=np.float32)
        self.mask = np.ones((n, a), dtype=bool)
        self.reward = np.zeros(n)
        self.terminated = np.zeros(n, dtype=bool)
        self.truncated = np.zeros(n, dtype=bool)
        self.info = np.zeros((n, len(INFO_FIELDS)))

    def step(self, core: "_imbarb.Envs", actions: np.ndarray, final_obs=None, final_mask=None) -> None:
        core.step(
            actions,
            self.obs,
            self.reward,
            self.terminated,
            self.truncated,
            self.mask,
            self.info,
            final_obs,
            final_mask,
        )


class _CoreViews:
    """What both environments say about the core they wrap."""

    _core: "_imbarb.Envs"

    @property
    def continuous(self) -> bool:
        """True for continuous power actions."""
        return self._core.n_actions == 0

    def describe(self) -> str:
        """What is simulated, in words (days, battery, decisions, actions)."""
        return self._core.describe()


class ImbalanceEnv(_CoreViews, gym.Env):
    """One battery, one Brussels day per episode.

    Observation: the normalised market features (published prices only) then the battery's
    (SoC, cycles used, budget left). Actions: a power level index (``Discrete``) or a power
    fraction in [-1, 1] (> 0 discharges). ``reset(options={"day": i, "soc_mwh": x})`` picks
    the day (a position in ``days``) and the starting SoC; otherwise both are drawn from the
    environment's seeded stream. ``info`` holds ``INFO_FIELDS``, ``date``, ``profit_eur`` and
    ``action_mask`` (the levels the battery can execute in full)."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        spec: str,
        *,
        seed: int = 0,
        random_start_soc: bool = False,
        reward_scale: float = 1.0,
        render_mode: Optional[str] = None,
    ):
        if render_mode not in (None, "ansi"):
            raise _imbarb.ImbarbError(f"render_mode {render_mode!r}: expected None or 'ansi'")
        self._core = _imbarb.Envs(spec, 1, seed, random_start_soc, "disabled")
        self.observation_space, self.action_space = _spaces(self._core)
        self.render_mode = render_mode
        self.reward_scale = check_reward_scale(reward_scale)
        self.days = list(self._core.days)
        self.feature_names = list(self._core.feature_names)
        self._buf = _Buffers(self._core, 1)
        self._day: Optional[int] = None
        self._log: list = []

    def action_masks(self) -> np.ndarray:
        """The levels allowed now (for masked algorithms such as sb3-contrib's MaskablePPO)."""
        return self._buf.mask[0].copy()

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None:
            self._core.seed(int(seed))
        options = dict(options or {})
        day = options.pop("day", None)
        soc = options.pop("soc_mwh", None)
        if options:
            raise _imbarb.ImbarbError(
                f"reset options {sorted(options)}: expected only 'day' and 'soc_mwh'"
            )
        if isinstance(day, str):
            if day not in self.days:
                raise _imbarb.ImbarbError(f"day {day}: not in this environment's day set")
            day = self.days.index(day)
        b = self._buf
        self._day = self._core.reset(0, b.obs, b.mask, day, soc)
        self._log = []
        info = {
            "date": self.days[self._day],
            "day": self._day,
            "soc_mwh": self._core.soc_mwh(0),
            "action_mask": b.mask[0].copy(),
        }
        return b.obs[0].copy(), info

    def step(self, action):
        a = _one_action(action)
        b = self._buf
        b.step(self._core, np.array([a]))
        info = {name: float(v) for name, v in zip(INFO_FIELDS, b.info[0])}
        info["day"] = int(info["day"])
        info["date"] = self.days[info["day"]]
        info["profit_eur"] = float(b.reward[0])
        info["action_mask"] = b.mask[0].copy()
        self._log.append((a, info["power_mw"], info["soc_mwh"], info["profit_eur"]))
        reward = float(b.reward[0]) * self.reward_scale
        return (
            b.obs[0].copy(),
            reward,
            bool(b.terminated[0]),
            bool(b.truncated[0]),
            info,
        )

    def render(self):
        """The day so far as text: one line per decision (action, power, SoC, profit) and the
        day's total."""
        if self.render_mode != "ansi":
            return None
        date = self.days[self._day] if self._day is not None else "(not reset)"
        lines = [f"{date}: {len(self._log)} decisions", "step  action  power_mw  soc_mwh  profit_eur"]
        for k, (a, p, s, r) in enumerate(self._log):
            lines.append(f"{k:4d}  {a:6.2f}  {p:8.3f}  {s:7.3f}  {r:10.2f}")
        total = sum(r for *_, r in self._log)
        lines.append(f"total profit {total:.2f} EUR")
        return "\n".join(lines)


def make_env(
    *,
    seed: int = 0,
    random_start_soc: bool = False,
    reward_scale: float = 1.0,
    render_mode: Optional[str] = None,
    **simulation,
) -> ImbalanceEnv:
    """A Gymnasium environment over a day set (default ``days="train"``) of the data: one
    Brussels day per episode. ``seed`` seeds the days (and, with ``random_start_soc``, the start
    SoCs) drawn at reset; rewards are EUR times ``reward_scale``.

    """
    return ImbalanceEnv(
        spec_from("make_env", simulation, "train"),
        seed=seed,
        random_start_soc=random_start_soc,
        reward_scale=reward_scale,
        render_mode=render_mode,
    )


make_env.__doc__ += SIMULATION_ARGS
