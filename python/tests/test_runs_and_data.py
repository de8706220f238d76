"""Trained runs, backtests and market data from Python, against the Rust paths and real
files."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import imbarb
from conftest import shared_data


def test_train_records_the_run(tiny_run, tiny_config):
    manifest = imbarb.load_run(tiny_run).manifest
    assert manifest["config"]["training"]["total_steps"] == 3000
    assert manifest["seed"] == 0 and manifest["data_hash"] and manifest["code_version"]
    assert manifest["best"] is not None
    # A finished run trained again returns at once: nothing is retrained.
    again = imbarb.train(tiny_config, tiny_run)
    assert again["finished"] and again["env_steps_per_s"] == 0.0
    assert again["best_eur_per_day"] == manifest["best"]["eur_per_day"]


def test_python_policy_path_equals_the_rust_run_policy(tiny_run):
    # The loaded run called from Python (observation -> predict -> action, every decision)
    # books exactly what `imbarb backtest --policy run:DIR` books.
    run = imbarb.load_run(tiny_run)
    rust = imbarb.backtest(f"run:{tiny_run}", data="synthetic")
    python = imbarb.backtest(run, data="synthetic")
    pd.testing.assert_frame_equal(rust.ledger, python.ledger)
    assert rust.metrics == python.metrics
    assert rust.policy == python.policy == run.name


def _power_stepping_the_runs_env(run, days):
    """Steps the run's own environment with predict(), day by day with the SoC carried across
    consecutive days; the power of every quarter-hour."""
    env = run.make_env(days=days)
    power = []
    soc, previous = None, None
    for k, date in enumerate(env.days):
        consecutive = previous is not None and (pd.Timestamp(date) - pd.Timestamp(previous)).days == 1
        obs, info = env.reset(options={"day": k, "soc_mwh": soc if consecutive else None})
        mask = info["action_mask"]
        while True:
            action, _ = run.predict(obs, action_masks=mask)
            obs, _, term, trunc, info = env.step(action)
            mask = info["action_mask"]
            power.append(info["power_mw"])
            if term or trunc:
                break
        soc, previous = info["soc_mwh"], date
    return power, env


def test_predict_in_the_runs_env_equals_the_rust_backtest_actions(tiny_run):
    # Stepping the run's own environment with predict() reproduces the Rust backtest's
    # per-quarter-hour power.
    run = imbarb.load_run(tiny_run)
    rust = imbarb.backtest(f"run:{tiny_run}", data="synthetic", days="validation")
    power, env = _power_stepping_the_runs_env(run, "validation")
    np.testing.assert_allclose(power, rust.ledger["power_mw"], rtol=0, atol=1e-12)
    # Batched predict equals one-by-one predict.
    env.reset(options={"day": 0})
    batch = np.stack([env.step(1)[0] for _ in range(20)])
    one_by_one = np.array([run.predict(o)[0] for o in batch])
    np.testing.assert_array_equal(run.predict(batch)[0], one_by_one)


def test_a_run_observing_the_forecaster_acts_from_python_as_in_rust(tiny_config, tmp_path):
    # A run with forecast_features: its environment from Python carries the forecast and plan
    # columns rebuilt from the run's saved forecaster, and acting there books what the Rust
    # backtest does.
    out = tmp_path / "forecast"
    forecaster = {"horizon": 2, "quantiles": 3, "hidden": [8], "steps": 60, "validate_every": 30}
    imbarb.train(
        tiny_config,
        out,
        overrides={
            "forecast_features": {
                "horizon": 2,
                "levels": [0.25, 0.75],
                "forecaster": forecaster,
                "plan": {"horizon": 2, "soc_points": 2},
            }
        },
    )
    run = imbarb.load_run(out)
    names = run.manifest["feature_names"]
    assert names[-11:-7] == ["forecast_qh0_p25", "forecast_qh0_p75", "forecast_qh1_p25", "forecast_qh1_p75"]
    assert names[-7:-3] == ["plan_soc000_charge", "plan_soc000_discharge", "plan_soc100_charge", "plan_soc100_discharge"]
    assert (out / "forecaster.safetensors").is_file()
    env = run.make_env(days="validation")
    assert env.observation_space.shape == (len(names),)
    rust = imbarb.backtest(f"run:{out}", data="synthetic", days="validation")
    power, _ = _power_stepping_the_runs_env(run, "validation")
    np.testing.assert_allclose(power, rust.ledger["power_mw"], rtol=0, atol=1e-12)


def test_a_forecaster_cache_fits_once_for_runs_and_environments(tmp_path):
    # Two environments from a config observing the forecaster, and a run trained from it, all
    # through one cache: one fit, kept as one entry, the same observation, the same forecaster.
    from conftest import TINY_CONFIG

    config = tmp_path / "forecast.toml"
    config.write_text(
        TINY_CONFIG
        + "[forecast_features]\nhorizon = 2\nlevels = [0.5]\n"
        + "[forecast_features.forecaster]\nhorizon = 2\nquantiles = 3\nhidden = [8]\nsteps = 60\nvalidate_every = 30\n"
    )
    cache = tmp_path / "forecasters"
    first = imbarb.make_env(config=config, forecaster_cache=cache)
    second = imbarb.make_env(config=config, forecaster_cache=cache)
    entries = sorted(p.name for p in cache.glob("*.safetensors"))
    assert len(entries) == 1, entries
    np.testing.assert_array_equal(first.reset(seed=3)[0], second.reset(seed=3)[0])
    out = tmp_path / "run"
    imbarb.train(config, out, steps=600, forecaster_cache=cache)
    assert sorted(p.name for p in cache.glob("*.safetensors")) == entries
    assert _safetensors(out / "forecaster.safetensors") == _safetensors(cache / entries[0])


def _safetensors(path):
    """A safetensors file's header (its key order aside) and tensor bytes."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def test_run_errors(tiny_run, tmp_path):
    run = imbarb.load_run(tiny_run)
    with pytest.raises(imbarb.ImbarbError, match="columns"):
        run.predict(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(imbarb.ImbarbError, match="loading trained run"):
        imbarb.load_run(tmp_path / "nothing")
    with pytest.raises(imbarb.ImbarbError, match="at `noon`"):
        run.decide("synthetic", soc_mwh=1.0, at="noon")


def test_decide_matches_the_command_line(tiny_run, root, tmp_path):
    # The same decision as `imbarb decide --json` from a canonical file of synthetic prices.
    frame = imbarb.read_market("synthetic")
    path = tmp_path / "prices.csv"
    frame.assign(timestamp_utc=frame["timestamp_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        path, index=False
    )
    run = imbarb.load_run(tiny_run)
    decided = run.decide(path, soc_mwh=1.2, cycles_used=0.5)
    assert decided["state"] == {"soc_mwh": 1.2, "cycles_used": 0.5}
    assert decided["level"] in (0, 1, 2)
    binary = root / "target" / "debug" / "imbarb"
    if not binary.exists():
        pytest.skip("SKIPPED: target/debug/imbarb not built (cargo test builds it)")
    cli = subprocess.run(
        [str(binary), "decide", "--run", str(tiny_run), "--data", str(path), "--soc-mwh", "1.2",
         "--cycles-used", "0.5", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(cli.stdout)["level"] == decided["level"]
    assert json.loads(cli.stdout)["power_mw"] == decided["power_mw"]


def test_named_baselines_and_the_oracle():
    rule = imbarb.backtest("rule")
    mpc = imbarb.backtest("mpc")
    best = imbarb.oracle()
    # The embedded prices' test days, as the README's quickstart table gives them.
    assert mpc.metrics["days"] == rule.metrics["days"] == best.metrics["days"] == 75
    assert mpc.eur_per_day == pytest.approx(528.5, abs=0.05)
    assert rule.eur_per_day == pytest.approx(419.2, abs=0.05)
    assert best.metrics["pct_of_perfect"] == pytest.approx(100.0)
    # Per-day P&L adds up to the ledger, and no policy beats perfect foresight on any day.
    for r in (rule, mpc, best):
        by_day = r.ledger.groupby("date")["profit_eur"].sum()
        np.testing.assert_allclose(by_day.values, r.daily["profit_eur"].values, atol=1e-6)
    assert (mpc.daily["profit_eur"].values <= best.daily["profit_eur"].values + 1e-6).all()
    with pytest.raises(imbarb.ImbarbError, match="unknown policy `mcp`"):
        imbarb.backtest("mcp")
    with pytest.raises(imbarb.ImbarbError, match="expected a name"):
        imbarb.backtest(42)


def test_python_policy_errors_surface():
    def broken(obs, mask):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        imbarb.backtest(broken, data="synthetic")
    with pytest.raises(imbarb.ImbarbError, match="expected a level 0..2"):
        imbarb.backtest(lambda obs, mask: 9, data="synthetic")
    with pytest.raises(imbarb.ImbarbError, match="expected one action"):
        imbarb.backtest(lambda obs, mask: [1, 2], data="synthetic")


def test_read_market_embedded_and_synthetic():
    be = imbarb.read_market("belgium")
    assert be["timestamp_utc"].is_monotonic_increasing and be["timestamp_utc"].is_unique
    assert str(be["timestamp_utc"].dt.tz) == "UTC"
    assert (be["timestamp_utc"].diff().dropna() >= pd.Timedelta(minutes=15)).all()
    synth = imbarb.read_market("synthetic")
    assert (synth["price_source"] == "synthetic").all()


def test_read_market_real_files_against_pandas():
    data = shared_data()
    post = data / "elia_be_imbalance_qh_2024-05_2024-12_postmari.csv"
    raw = data / "raw" / "elia_ods047_export_2023-01_2023-05.csv"
    day_ahead = data / "be_day_ahead_price_qh_2024.csv"
    if not (post.exists() and raw.exists() and day_ahead.exists()):
        pytest.skip(f"SKIPPED: real files not under {data}")
    # A canonical file: the same rows and prices pandas reads from it.
    ours = imbarb.read_market(post)
    theirs = pd.read_csv(post)
    assert len(ours) == len(theirs)
    np.testing.assert_array_equal(ours["imbalance_price_eur_mwh"], theirs["imbalance_price_eur_mwh"])
    assert (ours["timestamp_utc"] == pd.to_datetime(theirs["timestamp_utc"], utc=True)).all()
    # Elia's raw ods047 export (semicolons, Brussels offsets, newest first): the same prices
    # per UTC quarter-hour as pandas parsing the raw columns.
    ours = imbarb.read_market(raw).set_index("timestamp_utc")
    elia = pd.read_csv(raw, sep=";", encoding="utf-8-sig")
    elia["timestamp_utc"] = pd.to_datetime(elia["DateTime"], utc=True)
    elia = elia.set_index("timestamp_utc").sort_index()
    assert len(ours) == len(elia)
    np.testing.assert_allclose(
        ours["imbalance_price_eur_mwh"].values, elia["Positive imbalance price"].values
    )
    # With the day-ahead file beside it, the day-ahead price joins on the quarter-hour.
    both = imbarb.read_market([post, day_ahead])
    da = pd.read_csv(day_ahead)
    da["timestamp_utc"] = pd.to_datetime(da["timestamp_utc"], utc=True)
    joined = both.merge(da, on="timestamp_utc", suffixes=("", "_pandas"))
    assert len(joined) > 0.9 * len(both)
    np.testing.assert_array_equal(
        joined["day_ahead_price_eur_mwh"], joined["day_ahead_price_eur_mwh_pandas"]
    )


def test_read_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp_utc,imbalance_price_eur_mwh\n"
        "2024-06-01T00:00:00Z,50.0\n"
        "2024-06-01T00:15:00Z,fifty\n"
    )
    with pytest.raises(imbarb.ImbarbError) as e:
        imbarb.read_market(bad)
    text = str(e.value)
    assert str(bad) in text and "line 3" in text and "imbalance_price_eur_mwh" in text
    with pytest.raises(imbarb.ImbarbError, match="line 3"):
        imbarb.make_env(data=bad)
