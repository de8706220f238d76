"""Stable-Baselines3 on imbarb's vector environment: ``SB3VecEnv`` adapts an
``ImbalanceVecEnv`` (same-step autoreset, stepped in Rust) to SB3's ``VecEnv`` interface, with
the end of a day reported as a time-limit truncation whose ``terminal_observation`` is the next
day's start (so SB3 bootstraps across midnight as imbarb's trainer does). Needs
``stable-baselines3`` (not a dependency of ``imbarb``)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from .vector import ImbalanceVecEnv, make_vec_env


class SB3VecEnv(VecEnv):
    """An ``ImbalanceVecEnv`` as an SB3 ``VecEnv`` (build it with ``make_sb3_vec_env``)."""

    def __init__(self, env: ImbalanceVecEnv):
        if env.metadata["autoreset_mode"].value != "SameStep":
            raise ValueError("SB3VecEnv needs an ImbalanceVecEnv with autoreset='same_step'")
        self.env = env
        self._actions: Optional[np.ndarray] = None
        self._seed: Optional[int] = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def reset(self):
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        dones = terminated | truncated
        infos: List[dict] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = info["final_obs"]
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = final[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i])
        return obs, rewards.astype(np.float32), dones, infos

    def seed(self, seed: Optional[int] = None) -> Sequence[None]:
        self._seed = seed
        return [None] * self.num_envs

    def close(self) -> None:
        pass

    def action_masks(self) -> np.ndarray:
        """The levels each environment may take now (sb3-contrib's masked algorithms)."""
        return self.env.action_masks()

    def get_attr(self, attr_name: str, indices=None) -> List[Any]:
        return [getattr(self.env, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> List[Any]:
        return [getattr(self.env, method_name)(*method_args, **method_kwargs)] * len(
            self._get_indices(indices)
        )

    def env_is_wrapped(self, wrapper_class, indices=None) -> List[bool]:
        return [False] * len(self._get_indices(indices))


def make_sb3_vec_env(num_envs: int = 16, **kwargs) -> SB3VecEnv:
    """``make_vec_env(..., autoreset="same_step")`` adapted to SB3 (arguments as
    ``make_vec_env``)."""
    return SB3VecEnv(make_vec_env(num_envs=num_envs, autoreset="same_step", **kwargs))
