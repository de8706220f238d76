"""A CleanRL-style single-file DQN in PyTorch on imbarb's vector environment.

The environment (the battery, the Belgian imbalance prices, the observation) steps in Rust; the
agent is plain PyTorch you can edit. Days end truncated into the next day's start (the battery
goes on), so the TD target bootstraps through midnight; only the data's end terminates. Masks
keep the greedy and random actions to what the battery can execute in full.

    pip install ./python torch
    python examples/cleanrl_dqn.py --total-steps 200000        # about a minute or two on 2 cores
    python examples/cleanrl_dqn.py --data synthetic --total-steps 5000   # a quick look
"""

from __future__ import annotations

import argparse
import pathlib
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import imbarb

ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_args():
    p = argparse.ArgumentParser(description="CleanRL-style DQN on imbarb")
    p.add_argument("--config", default=str(ROOT / "configs" / "dqn.toml"), help="imbarb config: data, split, battery, observation")
    p.add_argument("--data", default=None, help="override the config's data (e.g. synthetic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--total-steps", type=int, default=200_000, help="environment steps (all envs)")
    p.add_argument("--buffer-size", type=int, default=200_000)
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--gamma", type=float, default=0.995)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--tau", type=float, default=0.005)
    p.add_argument("--epsilon-decay-steps", type=int, default=100_000)
    p.add_argument("--epsilon-end", type=float, default=0.02)
    p.add_argument("--reward-scale", type=float, default=0.01)
    return p.parse_args()


class QNetwork(nn.Module):
    def __init__(self, n_obs: int, n_actions: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_obs, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, n_actions)
        )

    def forward(self, x):
        return self.net(x)


def masked_argmax(q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return q.masked_fill(~mask, -torch.inf).argmax(dim=1)


def main():
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    envs = imbarb.make_vec_env(
        config=args.config,
        data=args.data,
        days="train",
        num_envs=args.num_envs,
        seed=args.seed,
        random_start_soc=True,
        reward_scale=args.reward_scale,
        autoreset="same_step",
    )
    n_obs = envs.single_observation_space.shape[0]
    n_actions = envs.single_action_space.n
    q = QNetwork(n_obs, n_actions)
    target = QNetwork(n_obs, n_actions)
    target.load_state_dict(q.state_dict())
    optimizer = torch.optim.Adam(q.parameters(), lr=args.lr)

    # A plain ring buffer of transitions (next observation and mask included).
    size, n = args.buffer_size, 0
    buf_obs = np.zeros((size, n_obs), np.float32)
    buf_next = np.zeros((size, n_obs), np.float32)
    buf_act = np.zeros(size, np.int64)
    buf_rew = np.zeros(size, np.float32)
    buf_term = np.zeros(size, np.float32)
    buf_next_mask = np.ones((size, n_actions), bool)
    pos = 0

    obs, info = envs.reset(seed=args.seed)
    mask = info["action_mask"]
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    steps = 0
    while steps < args.total_steps:
        epsilon = max(args.epsilon_end, 1.0 - steps / args.epsilon_decay_steps * (1.0 - args.epsilon_end))
        with torch.no_grad():
            greedy = masked_argmax(q(torch.from_numpy(obs)), torch.from_numpy(mask)).numpy()
        random_actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        explore = rng.random(args.num_envs) < epsilon
        actions = np.where(explore, random_actions, greedy)

        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        next_mask = info["action_mask"]
        # The transition's next state is the day's last observation (the next day's start)
        # where the day ended, not the reset observation that replaced it.
        real_next = next_obs.copy()
        real_next_mask = next_mask.copy()
        if "final_obs" in info:
            ended = info["_final_obs"]
            real_next[ended] = info["final_obs"][ended]
            real_next_mask[ended] = info["final_action_mask"][ended]  # allowed at the next day's start
        idx = (pos + np.arange(args.num_envs)) % size
        buf_obs[idx], buf_next[idx], buf_act[idx] = obs, real_next, actions
        buf_rew[idx], buf_term[idx], buf_next_mask[idx] = rewards, terminated, real_next_mask
        pos = (pos + args.num_envs) % size
        n = min(n + args.num_envs, size)
        obs, mask = next_obs, next_mask
        steps += args.num_envs

        if steps >= args.learning_starts:
            b = rng.integers(0, n, size=args.batch_size)
            with torch.no_grad():
                nxt = torch.from_numpy(buf_next[b])
                best = masked_argmax(q(nxt), torch.from_numpy(buf_next_mask[b]))  # double DQN
                next_q = target(nxt).gather(1, best[:, None]).squeeze(1)
                y = torch.from_numpy(buf_rew[b]) + args.gamma * next_q * (1 - torch.from_numpy(buf_term[b]))
            pred = q(torch.from_numpy(buf_obs[b])).gather(1, torch.from_numpy(buf_act[b])[:, None]).squeeze(1)
            loss = F.smooth_l1_loss(pred, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q.parameters(), 10.0)
            optimizer.step()
            with torch.no_grad():
                for p, tp in zip(q.parameters(), target.parameters()):
                    tp.mul_(1 - args.tau).add_(args.tau * p)
        if steps % 50_000 < args.num_envs:
            print(f"step {steps}: epsilon {epsilon:.2f}, {steps / (time.perf_counter() - start):.0f} steps/s", flush=True)

    def policy(o, m):
        with torch.no_grad():
            qs = q(torch.from_numpy(np.asarray(o, np.float32))[None])
        return int(masked_argmax(qs, torch.from_numpy(np.asarray(m, bool))[None])[0])

    result = imbarb.backtest(policy, config=args.config, data=args.data, days="test", name="cleanrl-dqn")
    print(result)
    print(imbarb.backtest("mpc", config=args.config, data=args.data, days="test"))


if __name__ == "__main__":
    main()
