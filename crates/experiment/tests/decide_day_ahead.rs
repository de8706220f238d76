//! A run that reads the day-ahead curve and never saw a day without it (`day_ahead_missing =
//! "exclude"`) refuses to decide where the curve is missing, naming it, instead of acting on the
//! training mean; with the curve it decides.

use chrono::{DateTime, TimeDelta, Utc};
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_agents::{train, TrainConfig, TrainOptions};
use imbarb_experiment::training_setup;
use imbarb_market::source::{load_sources, DataSource};

#[test]
fn a_day_ahead_run_refuses_to_decide_without_the_curve() {
    let Some(dir) = imbarb_util::testdata::require_shared_data(
        "a_day_ahead_run_refuses_to_decide_without_the_curve",
    ) else {
        return;
    };
    let prices = dir.join("elia_be_imbalance_qh_2024-05_2024-12_postmari.csv");
    let curve = dir.join("be_day_ahead_price_qh_2024.csv");
    let text = format!(
        r#"
algo = "qr-dqn"
[data]
sources = ["{}", "{}"]
split = "walk-forward:2024-07-01:7"
[env.observation]
day_ahead = 4
[network]
hidden = [16]
[training]
total_steps = 1000
learning_starts = 200
validate_every = 500
envs = 4
"#,
        prices.display(),
        curve.display()
    );
    let config = TrainConfig::from_toml(&text, "test").unwrap();
    let setup = training_setup(&config, None, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(&setup.train_data(), &config, &run, &TrainOptions::default()).unwrap();

    let sources: Vec<DataSource> = [&prices, &curve]
        .iter()
        .map(|p| p.to_str().unwrap().parse().unwrap())
        .collect();
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
