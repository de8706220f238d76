"""Trained runs from Python: ``train`` trains one from an imbarb config (imbarb's own trainer,
in Rust), ``load_run`` loads a finished one as a policy with SB3's ``predict`` and the command
line's ``decide``."""

from __future__ import annotations

import json
import os
from typing import Optional

import numpy as np

from . import _imbarb
from ._spec import sources


def train(
    config,
    out,
    *,
    steps: Optional[int] = None,
    seed: Optional[int] = None,
    data=None,
    cap: Optional[float] = None,
    progress: bool = False,
    overrides: Optional[dict] = None,
    forecaster_cache=None,
) -> dict:
    """Trains the run ``config`` (an imbarb TOML config) describes into the directory ``out``
    (``imbarb train --config CONFIG --out OUT``, with ``steps``, ``seed``, ``data`` and
    ``cap`` overriding the config, and ``overrides`` any other keys, e.g.
    ``{"training": {"batch_size": 64}, "network": {"hidden": [64]}}``); a stopped run
    resumes, a finished one returns at once. ``forecaster_cache``: a folder where the config's
    forecaster (``forecast_features``) is kept for the next run fitting the same one
    (``imbarb train --forecaster-cache``). Returns steps, updates, env steps/s, updates/s
    and the deployed network's validation."""
    raw = _imbarb.train(
        os.fspath(config),
        os.fspath(out),
        steps,
        seed,
        sources(data),
        cap,
        progress,
        None if overrides is None else json.dumps(overrides),
        None if forecaster_cache is None else os.fspath(forecaster_cache),
    )
    return json.loads(raw)


class RunPolicy:
    """A trained run's deployed network acting greedily on its risk measure.

    ``predict(obs, deterministic=True, action_masks=None)`` returns ``(actions, None)`` like
    Stable-Baselines3 (level indices, or power fractions for continuous runs) for one
    observation or a batch; observations must be the run's own (``make_env`` builds its
    environment). ``decide`` is ``imbarb decide``: the set-point from published data."""

    def __init__(self, directory):
        self.dir = os.fspath(directory)
        self._run = _imbarb.Run(self.dir)
        self.name = f"{self._run.algo}:{os.path.basename(os.path.normpath(self.dir))}"

    @property
    def algo(self) -> str:
        """The algorithm (``qr-dqn``, ``dsac``, ...)."""
        return self._run.algo

    @property
    def config_toml(self) -> str:
        """The run's complete config (TOML)."""
        return self._run.config_toml

    @property
    def manifest(self) -> dict:
        """The run's manifest: seed, data hash, code version, features, validation."""
        return json.loads(self._run.manifest_json)

    @property
    def continuous(self) -> bool:
        """True for a continuous-power run."""
        return self._run.n_actions == 0

    def predict(self, observation, state=None, episode_start=None, deterministic=True, action_masks=None):
        """Greedy actions: ``(actions, None)``; a single observation gives a single action."""
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        batch = np.ascontiguousarray(obs.reshape(1, -1) if single else obs)
        masks = None
        if action_masks is not None and not self.continuous:
            masks = np.ascontiguousarray(
                np.asarray(action_masks, dtype=bool).reshape(batch.shape[0], -1)
            )
        actions = self._run.act(batch, masks)
        if not self.continuous:
            actions = actions.astype(np.int64)
        else:
            actions = actions.astype(np.float32).reshape(-1, 1)
        return (actions[0] if single else actions), None

    def __call__(self, obs, mask):
        """``policy(obs, mask) -> action``, the form ``backtest`` calls."""
        actions = self._run.act(
            np.ascontiguousarray(np.asarray(obs, dtype=np.float32).reshape(1, -1)),
            None if self.continuous else np.ascontiguousarray(np.asarray(mask, dtype=bool).reshape(1, -1)),
        )
        return float(actions[0])

    def make_env(self, days: str = "test", **kwargs):
        """The run's environment (its data, split, battery and observation, normalised with the
        run's statistics) over ``days``; keyword arguments override as in ``make_env``."""
        from .env import make_env

        return make_env(days=days, run=self.dir, **kwargs)

    def decide(self, data, soc_mwh: float, cycles_used: float = 0.0, at: Optional[str] = None) -> dict:
        """The set-point at ``at`` (ISO UTC; default: the next decision time after the data)
        from the published data in ``data`` with the battery at ``soc_mwh`` MWh and
        ``cycles_used`` today (``imbarb decide --json``)."""
        return json.loads(self._run.decide(sources(data), float(soc_mwh), float(cycles_used), at))

    def __repr__(self) -> str:
        return f"RunPolicy({self.dir!r}, algo={self.algo!r})"


def load_run(directory) -> RunPolicy:
    """A finished run (its deployed checkpoint) as a policy."""
    return RunPolicy(directory)
