"""The single Gymnasium environment: Gymnasium's checker, seeding, the settlement in closed
form, the day boundary, agreement with the Rust backtest, and errors."""

import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

import imbarb


def quiet_check(env):
    # The checker warns that unbounded Box observations are "probably too low/high": ours are
    # normalised features without natural bounds. Everything else must pass.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        check_env(env)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(config="configs/qrdqn.toml"),
        dict(data="synthetic", actions="continuous"),
        dict(data="synthetic", granularity="minute", actions="discrete:5", cap=1.1),
    ],
    ids=["qrdqn-config", "continuous", "minute-levels-cap"],
)
def test_passes_gymnasium_checker(root, monkeypatch, kwargs):
    monkeypatch.chdir(root)
    quiet_check(imbarb.make_env(**kwargs))


def test_spaces_follow_the_config(root, monkeypatch):
    monkeypatch.chdir(root)
    env = imbarb.make_env(config="configs/qrdqn.toml")
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.observation_space.shape == (len(env.feature_names),)
    assert env.feature_names[-3:] == ["soc", "cycles_used", "cycle_budget_left"]
    # The config's observation: time of day, 8 lags, rolling mean and std over 4 and 16 QH,
    # a 32-QH profile ahead, then the battery.
    expected = (
        ["qh_of_day_sin", "qh_of_day_cos"]
        + [f"price_lag_{k}" for k in range(1, 9)]
        + ["price_mean_4", "price_std_4", "price_mean_16", "price_std_16"]
        + [f"profile_ahead_{k}" for k in range(32)]
    )
    assert env.feature_names[:-3] == expected
    cont = imbarb.make_env(data="synthetic", actions="continuous")
    assert cont.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


def rollout(env, seed, steps):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [(obs.copy(), info["date"])]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(int(rng.integers(0, 3)))
        out.append((obs.copy(), r, term, trunc, info["soc_mwh"]))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs.copy(), info["date"]))
    return out


def same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, np.ndarray):
                if not np.array_equal(u, v):
                    return False
            elif u != v:
                return False
    return True


def test_same_seed_same_trajectory_other_seed_other_days():
    a = rollout(imbarb.make_env(data="synthetic"), seed=7, steps=250)
    b = rollout(imbarb.make_env(data="synthetic"), seed=7, steps=250)
    c = rollout(imbarb.make_env(data="synthetic"), seed=8, steps=250)
    assert same(a, b)
    assert not same(a, c)
    # The days drawn after each episode come from the seeded stream too.
    dates_a = [x[1] for x in a if len(x) == 2]
    assert len(dates_a) >= 3


def brussels_midnight_utc(date: str) -> pd.Timestamp:
    return pd.Timestamp(date).tz_localize("Europe/Brussels").tz_convert("UTC")


def test_a_full_discharge_earns_the_price_times_energy():
    # 1 MW / 2 MWh, 90 % each way, 50 % SoC: a full-power quarter-hour delivers 0.25 MWh at the
    # grid, takes 0.25 / 0.9 MWh out of the cells, and earns the quarter-hour's price on it.
    env = imbarb.make_env(days="test")
    prices = imbarb.read_market("belgium").set_index("timestamp_utc")["imbalance_price_eur_mwh"]
    for day in (0, 17, 40):
        obs, info = env.reset(options={"day": day, "soc_mwh": 1.0})
        _, reward, *_, step_info = env.step(2)  # level 2 of 3: full discharge
        price = prices[brussels_midnight_utc(info["date"])]
        assert step_info["energy_mwh"] == pytest.approx(0.25, abs=1e-12)
        assert reward == pytest.approx(price * 0.25, rel=1e-12, abs=1e-9)
        assert step_info["soc_mwh"] == pytest.approx(1.0 - 0.25 / 0.9, abs=1e-12)
        # Charging at full power from the same state pays the price on 0.25 MWh.
        env.reset(options={"day": day, "soc_mwh": 1.0})
        _, reward, *_, step_info = env.step(0)
        assert reward == pytest.approx(-price * 0.25, rel=1e-12, abs=1e-9)
        assert step_info["soc_mwh"] == pytest.approx(1.0 + 0.25 * 0.9, abs=1e-12)


def test_random_start_soc_is_reported_and_kept():
    env = imbarb.make_env(data="synthetic", random_start_soc=True)
    lo, hi = 0.0, 2.0
    starts = []
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert lo <= info["soc_mwh"] <= hi
        starts.append(info["soc_mwh"])
        # Idling keeps exactly the SoC the reset reported.
        _, _, _, _, step_info = env.step(1)
        assert step_info["soc_mwh"] == info["soc_mwh"]
    assert len(set(starts)) == 5 and 1.0 not in starts
    vec = imbarb.make_vec_env(data="synthetic", num_envs=3, random_start_soc=True)
    _, info = vec.reset(seed=0)
    _, _, _, _, step_info = vec.step([1, 1, 1])
    np.testing.assert_array_equal(info["soc_mwh"], step_info["soc_mwh"])


def test_idle_earns_nothing_and_keeps_the_soc():
    env = imbarb.make_env(days="test")
    env.reset(options={"day": 3, "soc_mwh": 1.5})
    total = 0.0
    while True:
        _, r, term, trunc, info = env.step(1)
        total += r
        assert info["soc_mwh"] == 1.5
        if term or trunc:
            break
    assert total == 0.0


def test_a_day_ends_truncated_into_the_next_days_start():
    env = imbarb.make_env(days="all")
    days = env.days
    # A day followed by its calendar successor: the last observation is that day's first,
    # with the SoC carried over and a fresh cycle budget.
    k = next(
        i
        for i in range(len(days) - 1)
        if pd.Timestamp(days[i + 1]) - pd.Timestamp(days[i]) == pd.Timedelta(days=1)
    )
    env.reset(options={"day": k})
    rng = np.random.default_rng(0)
    while True:
        obs, _, term, trunc, info = env.step(int(rng.integers(0, 3)))
        if term or trunc:
            break
    assert trunc and not term
    expected, _ = env.reset(options={"day": k + 1, "soc_mwh": info["soc_mwh"]})
    np.testing.assert_array_equal(obs, expected)
    # The data's last day has no successor: terminated, zero observation.
    env.reset(options={"day": len(days) - 1})
    while True:
        obs, _, term, trunc, _ = env.step(1)
        if term or trunc:
            break
    assert term and not trunc
    assert not obs.any()


def test_stepping_the_test_days_equals_the_rust_backtest():
    # A deterministic policy of the observation, stepped day by day through the Gym
    # environment with the SoC carried between consecutive days, books the same daily P&L as
    # the Rust backtest of the same policy.
    def policy(obs, mask):
        level = 2 if obs[0] > 0.3 else (0 if obs[0] < -0.3 else 1)
        return level if mask[level] else 1

    bt = imbarb.backtest(policy, days="test")
    env = imbarb.make_env(days="test")
    daily = []
    soc, previous = None, None
    for k, date in enumerate(env.days):
        consecutive = previous is not None and pd.Timestamp(date) - pd.Timestamp(previous) == pd.Timedelta(days=1)
        obs, info = env.reset(options={"day": k, "soc_mwh": soc if consecutive else None})
        mask = info["action_mask"]
        total = 0.0
        while True:
            obs_next, r, term, trunc, info = env.step(policy(obs, mask))
            total += r
            mask = info["action_mask"]
            obs = obs_next
            if term or trunc:
                break
        daily.append(total)
        soc, previous = info["soc_mwh"], date
    assert list(bt.daily["date"]) == env.days
    np.testing.assert_allclose(daily, bt.daily["profit_eur"], rtol=0, atol=1e-6)


def test_render_ansi_lists_the_day():
    env = imbarb.make_env(data="synthetic", render_mode="ansi")
    env.reset(seed=0)
    for _ in range(3):
        env.step(2)
    text = env.render()
    assert text.count("\n") == 5 and "total profit" in text


def test_registered_with_gymnasium(root, monkeypatch):
    monkeypatch.chdir(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make("imbarb/Imbalance-v0", data="synthetic", days="validation")
        obs, _ = env.reset(seed=1)
    assert obs.shape == env.observation_space.shape


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: imbarb.make_env(battery={"energy_mwhh": 3}), "battery.energy_mwhh: unknown field"),
        (lambda: imbarb.make_env(battery={"energy_mwh": -3}), "energy_mwh = -3"),
        (lambda: imbarb.make_env(days="tests"), "days `tests`"),
        (lambda: imbarb.make_env(actions="discrete:1"), "actions"),
        (lambda: imbarb.make_env(granularity="hour"), "granularity"),
        (lambda: imbarb.make_env(features={"last_prices": "x"}), "features.last_prices"),
        (lambda: imbarb.make_env(config="no/such.toml"), "reading no/such.toml"),
        (lambda: imbarb.make_env(data="no-such.csv"), "no-such.csv"),
        (lambda: imbarb.make_env(split="nonsense"), "data.split"),
    ],
)
def test_bad_arguments_raise_imbarb_error_naming_the_field(call, message):
    with pytest.raises(imbarb.ImbarbError) as e:
        call()
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_bad_steps_raise():
    env = imbarb.make_env(data="synthetic")
    with pytest.raises(imbarb.ImbarbError, match="never reset"):
        env.step(1)
    env.reset(seed=0)
    for bad in (3, -1, 0.5, float("nan")):
        with pytest.raises(imbarb.ImbarbError, match="expected a level 0..2"):
            env.step(bad)
    with pytest.raises(imbarb.ImbarbError, match="day 10000"):
        env.reset(options={"day": 10000})
    with pytest.raises(imbarb.ImbarbError, match="soc_mwh 5"):
        env.reset(options={"soc_mwh": 5.0})
    with pytest.raises(imbarb.ImbarbError, match="expected only"):
        env.reset(options={"start": 1})
    env.reset(options={"day": 0})
    while True:
        *_, term, trunc, _ = env.step(1)
        if term or trunc:
            break
    with pytest.raises(imbarb.ImbarbError, match="finished its day"):
        env.step(1)
    cont = imbarb.make_env(data="synthetic", actions="continuous")
    cont.reset(seed=0)
    with pytest.raises(imbarb.ImbarbError, match=r"power fraction in \[-1, 1\]"):
        cont.step(np.array([1.5], dtype=np.float32))
