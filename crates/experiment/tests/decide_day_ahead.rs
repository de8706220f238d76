//! A run that reads the day-ahead curve and never saw a day without it (`day_ahead_missing =
//! "exclude"`) refuses to decide where the curve is missing, naming it, instead of acting on the
//! training mean; with the curve it decides. A run whose planner refits on the last days
//! (`rolling_mpc_days`) asks for that history and refuses to decide without it.

use chrono::{DateTime, TimeDelta, Utc};
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_agents::{train, TrainConfig, TrainOptions};
use imbarb_experiment::training_setup;
use imbarb_market::source::{load_sources, DataSource};

/// Trains a small QR-DQN on the post-MARI prices and curve up to 2024-07-01 with `extra` TOML
/// (sections after `[training]`'s keys) into `run`; the data's sources, or `None` without the
/// shared data.
fn train_small(test: &str, extra: &str, run: &std::path::Path) -> Option<Vec<DataSource>> {
    let dir = imbarb_util::testdata::require_shared_data(test)?;
    let prices = dir.join("elia_be_imbalance_qh_2024-05_2024-12_postmari.csv");
    let curve = dir.join("be_day_ahead_price_qh_2024.csv");
    let text = format!(
        r#"
algo = "qr-dqn"
[data]
sources = ["{}", "{}"]
split = "walk-forward:2024-07-01:7"
[network]
hidden = [16]
[training]
total_steps = 1000
learning_starts = 200
validate_every = 500
envs = 4
{extra}
"#,
        prices.display(),
        curve.display()
    );
    let config = TrainConfig::from_toml(&text, "test").unwrap();
    let setup = training_setup(&config, None, None).unwrap();
    train(&setup.train_data(), &config, run, &TrainOptions::default()).unwrap();
    Some(
        [&prices, &curve]
            .iter()
            .map(|p| p.to_str().unwrap().parse().unwrap())
            .collect(),
    )
}

#[test]
fn a_day_ahead_run_refuses_to_decide_without_the_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let Some(sources) = train_small(
        "a_day_ahead_run_refuses_to_decide_without_the_curve",
        "[env.observation]\nday_ahead = 4\n",
        &run,
    ) else {
        return;
    };
    let at: DateTime<Utc> = "2024-07-10T10:00:00Z".parse().unwrap();
    let market = load_sources(&sources)
        .unwrap()
        .between(at - TimeDelta::days(2), at + TimeDelta::hours(2));
    let mut decider = Decider::load(&run).unwrap();
    let state = BatteryState {
        soc_mwh: 1.0,
        cycles_used: 0.0,
    };
    decider.decide(&market, state, Some(at)).unwrap();
    // The curve of the decision's day gone.
    let mut without = market.clone();
    without.day_ahead.retain(|r| {
        r.start_utc < at - TimeDelta::hours(12) || r.start_utc > at + TimeDelta::hours(12)
    });
    let e = decider
        .decide(&without, state, Some(at))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no day-ahead price for the quarter-hour at 2024-07-10 10:00:00 UTC"),
        "{e}"
    );
}

#[test]
fn a_run_whose_planner_refits_on_recent_days_needs_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let Some(sources) = train_small(
        "a_run_whose_planner_refits_on_recent_days_needs_them",
        "[forecast_features]\nhorizon = 4\nlevels = [0.25, 0.5, 0.75]\n[forecast_features.forecaster]\nhorizon = 4\nquantiles = 3\nhidden = [8]\nsteps = 200\nvalidate_every = 100\n[forecast_features.plan]\nhorizon = 4\nsoc_points = 3\nrolling_mpc_days = 7\n",
        &run,
    ) else {
        return;
    };
    let mut decider = Decider::load(&run).unwrap();
    assert_eq!(decider.history_days(), 8);
    let at: DateTime<Utc> = "2024-07-10T10:00:00Z".parse().unwrap();
    let all = load_sources(&sources).unwrap();
    let state = BatteryState {
        soc_mwh: 1.0,
        cycles_used: 0.0,
    };
    let back = TimeDelta::days(i64::from(decider.history_days()));
    let enough = all.between(at - back, at + TimeDelta::hours(2));
    decider.decide(&enough, state, Some(at)).unwrap();
    // Yesterday's prices cover the lags, but not one complete day to refit the planner on.
    let short = all.between(at - TimeDelta::hours(20), at + TimeDelta::hours(2));
    let e = decider
        .decide(&short, state, Some(at))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no complete day in the 7 days before 2024-07-10"),
        "{e}"
    );
}
