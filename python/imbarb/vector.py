"""Many imbalance environments stepped together in Rust: a ``gymnasium.vector.VectorEnv``
whose ``step`` is one call into the core, writing observations, rewards, flags, masks and info
into preallocated NumPy arrays (no Python loop over environments, no per-step allocation in
Rust). Environment i draws its days like an ``ImbalanceEnv`` seeded with ``seed + i``, so the
batch equals Gymnasium's ``SyncVectorEnv`` of single environments step for step."""

from __future__ import annotations

from typing import Optional

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _imbarb
from ._spec import SIMULATION_ARGS, check_reward_scale, spec_from
from .env import INFO_FIELDS, _Buffers, _CoreViews, _spaces

_MODES = {
    "next_step": AutoresetMode.NEXT_STEP,
    "same_step": AutoresetMode.SAME_STEP,
}


class ImbalanceVecEnv(_CoreViews, VectorEnv):
    """``num_envs`` imbalance environments (see ``ImbalanceEnv``) with Gymnasium's autoreset
    (``next_step``, the default, or ``same_step`` with ``final_obs`` in the info, and
    ``final_action_mask``: the levels allowed from it, i.e. at the next day's start, which a
    learner bootstrapping from ``final_obs`` needs; ``action_mask`` is then the new episode's).
    ``info`` holds one array per ``INFO_FIELDS`` entry (for the step just taken),
    ``profit_eur`` and ``action_mask``. The arrays
    returned are the environment's own buffers, overwritten by the next step: copy what you
    keep (``copy=True`` returns copies)."""

    def __init__(
        self,
        spec: str,
        num_envs: int,
        *,
        seed: int = 0,
        random_start_soc: bool = False,
        reward_scale: float = 1.0,
        autoreset: str = "next_step",
        copy: bool = True,
    ):
        if autoreset not in _MODES:
            raise _imbarb.ImbarbError(
                f"autoreset {autoreset!r}: expected 'next_step' or 'same_step'"
            )
        self._core = _imbarb.Envs(spec, int(num_envs), seed, random_start_soc, autoreset)
        self.num_envs = int(num_envs)
        self.single_observation_space, self.single_action_space = _spaces(self._core)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": _MODES[autoreset]}
        self.render_mode = None
        self.reward_scale = check_reward_scale(reward_scale)
        self.copy = copy
        self.days = list(self._core.days)
        self.feature_names = list(self._core.feature_names)
        self._buf = _Buffers(self._core, self.num_envs)
        self._final_obs = np.zeros_like(self._buf.obs)
        self._final_mask = np.zeros_like(self._buf.mask)
        self._same_step = autoreset == "same_step"

    def action_masks(self) -> np.ndarray:
        """The levels each environment may take now, ``num_envs x n_actions``."""
        return self._buf.mask.copy()

    def _out(self, a: np.ndarray) -> np.ndarray:
        return a.copy() if self.copy else a

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        """Starts every environment on a drawn day (``options={"days": [...], "soc_mwh":
        [...]}`` picks them: positions in ``days``)."""
        if seed is not None:
            self._core.seed(int(seed))
        options = dict(options or {})
        days = options.pop("days", None)
        socs = options.pop("soc_mwh", None)
        if options:
            raise _imbarb.ImbarbError(
                f"reset options {sorted(options)}: expected only 'days' and 'soc_mwh'"
            )
        for name, values in (("days", days), ("soc_mwh", socs)):
            if values is not None and len(values) != self.num_envs:
                raise _imbarb.ImbarbError(
                    f"reset option {name}: {len(values)} given for {self.num_envs} environments"
                )
        positions = np.zeros(self.num_envs, dtype=np.int64)
        for i in range(self.num_envs):
            day = None if days is None else int(days[i])
            soc = None if socs is None else float(socs[i])
            positions[i] = self._core.reset(i, self._buf.obs, self._buf.mask, day, soc)
        info = {
            "day": positions,
            "soc_mwh": np.array([self._core.soc_mwh(i) for i in range(self.num_envs)]),
            "action_mask": self._buf.mask.copy(),
        }
        return self._out(self._buf.obs), info

    def step(self, actions):
        a = np.asarray(actions, dtype=np.float64).reshape(self.num_envs)
        b = self._buf
        if self._same_step:
            b.step(self._core, a, self._final_obs, self._final_mask)
        else:
            b.step(self._core, a)
        info = {name: b.info[:, k].copy() for k, name in enumerate(INFO_FIELDS)}
        info["day"] = info["day"].astype(np.int64)
        info["profit_eur"] = b.reward.copy()
        info["action_mask"] = b.mask.copy()
        if self._same_step:
            ended = b.terminated | b.truncated
            if ended.any():
                info["final_obs"] = self._final_obs.copy()
                info["_final_obs"] = ended.copy()
                info["final_action_mask"] = self._final_mask.copy()
                info["_final_action_mask"] = ended.copy()
        return (
            self._out(b.obs),
            b.reward * self.reward_scale,
            b.terminated.copy(),
            b.truncated.copy(),
            info,
        )


def make_vec_env(
    *,
    num_envs: int = 8,
    seed: int = 0,
    random_start_soc: bool = False,
    reward_scale: float = 1.0,
    autoreset: str = "next_step",
    copy: bool = True,
    **simulation,
) -> ImbalanceVecEnv:
    """``num_envs`` environments stepped together in Rust (as ``make_env``; default
    ``days="train"``), with Gymnasium's ``autoreset`` mode (``"next_step"`` or
    ``"same_step"``); ``copy=False`` returns the environment's own buffers.

    """
    return ImbalanceVecEnv(
        spec_from("make_vec_env", simulation, "train"),
        num_envs,
        seed=seed,
        random_start_soc=random_start_soc,
        reward_scale=reward_scale,
        autoreset=autoreset,
        copy=copy,
    )


make_vec_env.__doc__ += SIMULATION_ARGS
