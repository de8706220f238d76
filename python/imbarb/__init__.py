"""imbarb: battery arbitrage in the Belgian imbalance settlement, from Python.

The simulator (a battery settled at the single imbalance price of every quarter-hour, decided
per quarter-hour or per minute on published data only) as Gymnasium environments stepped in
Rust; backtests of baselines, trained runs and your own policies against the perfect-foresight
optimum; imbarb's trainer; market data as pandas frames.

    import imbarb
    env = imbarb.make_env(config="configs/qrdqn.toml", days="train")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    print(imbarb.backtest("mpc"))                      # the forecast MPC on the test days
"""

from ._imbarb import ImbarbError, __version__
from .backtest import BacktestResult, backtest, oracle, read_market
from .env import INFO_FIELDS, ImbalanceEnv, make_env
from .runs import RunPolicy, load_run, train
from .vector import ImbalanceVecEnv, make_vec_env

__all__ = [
    "BacktestResult",
    "INFO_FIELDS",
    "ImbalanceEnv",
    "ImbalanceVecEnv",
    "ImbarbError",
    "RunPolicy",
    "__version__",
    "backtest",
    "load_run",
    "make_env",
    "make_vec_env",
    "oracle",
    "read_market",
    "train",
]

# `gymnasium.make("imbarb/Imbalance-v0", config=..., days=...)` builds an `ImbalanceEnv`.
import gymnasium as _gym

if "imbarb/Imbalance-v0" not in _gym.registry:
    _gym.register(id="imbarb/Imbalance-v0", entry_point="imbarb.env:make_env")
