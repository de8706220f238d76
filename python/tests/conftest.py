"""Shared fixtures: the repository root, and one small run trained once per test session."""

import os
import pathlib

import pytest

import imbarb

ROOT = pathlib.Path(__file__).resolve().parents[2]

# A small QR-DQN on the synthetic market: seconds to train, enough to have a deployed network.
TINY_CONFIG = """
algo = "qr-dqn"
seed = 0
[data]
sources = ["synthetic"]
split = "paper"
[env]
granularity = "qh"
actions = { kind = "discrete", levels = 3 }
[env.observation]
last_prices = 4
rolling_windows = [4]
profile_ahead = 8
[network]
hidden = [32]
[distribution]
quantiles = 8
[training]
total_steps = 3000
envs = 8
batch_size = 32
learning_starts = 500
validate_every = 1500
"""


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_config) -> pathlib.Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    imbarb.train(tiny_config, out)
    return out


def shared_data() -> pathlib.Path:
    """`../shared/data` beside the repository, or `$IMBARB_SHARED_DATA`."""
    return pathlib.Path(os.environ.get("IMBARB_SHARED_DATA", ROOT.parent / "shared" / "data"))
