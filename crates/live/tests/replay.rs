//! Paper trading equals backtesting (issue #24): the service's core replayed over consecutive
//! real test days, with a simulated battery answering telemetry, sends exactly the set-points a
//! backtest of the same run executes and earns the same P&L; its journal then recovers the
//! day's cycle use after a restart.

use imbarb_agents::{train, RunPolicy, TrainConfig, TrainOptions};
use imbarb_experiment::{build_setup, DaySet};
use imbarb_live::replay::replay;
use imbarb_live::safety::SafetyConfig;
use imbarb_live::service::LiveCore;
use imbarb_market::source::{load_sources, DataSource};
use imbarb_market::SplitSpec;
use imbarb_sim::rollout;

fn trained_backtest_and_replay(
    config_text: &str,
    source: DataSource,
    n_days: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut config = TrainConfig::from_toml(config_text, "test").unwrap();
    config.resolve_for_cap();
    let sources = vec![source];
    let fit = build_setup(
        &sources,
        &SplitSpec::Paper,
        config.env.clone(),
        0,
        DaySet::Validation,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let data = fit.train_data();
    train(&data, &config, &run, &TrainOptions::default()).unwrap();

    let test = build_setup(
        &sources,
        &SplitSpec::Paper,
        config.env.clone(),
        0,
        DaySet::Test,
    )
    .unwrap();
    let runs = test.days.consecutive_runs(&test.eval);
    let longest = runs.iter().max_by_key(|r| r.len()).unwrap();
    let chosen = &longest[..longest.len().min(n_days)];
    let mut policy = RunPolicy::load(&run, &test.days, &test.train, &test.config).unwrap();
    let (mut bt_power, mut bt_profit) = (vec![], vec![]);
    rollout(
        &test.days,
        &test.features,
        &test.config,
        chosen,
        &mut policy,
        |s| {
            bt_power.push(s.outcome.power_mw);
            bt_profit.push(s.reward_eur);
        },
    )
    .unwrap();

    let market = load_sources(&sources).unwrap();
    let mut core = LiveCore::open(
        &run,
        &dir.path().join("journal.sqlite"),
        SafetyConfig::default(),
    )
    .unwrap();
    let dates: Vec<chrono::NaiveDate> = chosen.iter().map(|&d| test.days.days[d].date).collect();
    let b = config.env.battery;
    let replayed = replay(
        &mut core,
        &market,
        &dates,
        &b,
        config.env.granularity,
        b.first_soc_mwh(),
    )
    .unwrap();
    assert!(
        replayed.iter().all(|r| r.decision.fallback.is_none()),
        "a fallback in replay"
    );
    // The journal recovers the last day's cycle use from its decisions.
    let last = *dates.last().unwrap();
    let recovered = core.journal().recover(last).unwrap();
    let day_throughput: f64 = replayed
        .iter()
        .filter(|r| r.decision.day == last)
        .map(|r| r.decision.throughput_mwh)
        .sum();
    assert_eq!(recovered.throughput_mwh, day_throughput);
    let rp_power = replayed.iter().map(|r| r.decision.power_mw).collect();
    let rp_profit = replayed.iter().map(|r| r.profit_eur).collect();
    (bt_power, rp_power, bt_profit, rp_profit)
}

#[test]
fn replay_sends_the_backtests_set_points_and_earns_its_pnl() {
    for extra in ["", "[env.battery]\ncycles_per_day = 1.1\n"] {
        let text = format!(
            "algo = \"qr-dqn\"\n[training]\ntotal_steps = 4000\nlearning_starts = 500\n\
             validate_every = 2000\nenvs = 8\n[network]\nhidden = [32, 32]\n{extra}"
        );
        let (bt_power, rp_power, bt_profit, rp_profit) =
            trained_backtest_and_replay(&text, DataSource::Belgium, 3);
        assert_eq!(bt_power.len(), rp_power.len());
        assert!(bt_power.len() >= 3 * 92);
        assert_eq!(bt_power, rp_power, "{extra}");
        let (a, b): (f64, f64) = (bt_profit.iter().sum(), rp_profit.iter().sum());
        assert!(
            (a - b).abs() < 1e-6,
            "{extra}: backtest {a} EUR, replay {b} EUR"
        );
        assert!(bt_power.iter().any(|p| *p != 0.0), "the run never trades");
    }
}

/// Minute decisions on the synthetic market's published running estimates: the same equality.
#[test]
fn a_minute_replay_sends_the_backtests_set_points() {
    let text = "algo = \"qr-dqn\"\n[env]\ngranularity = \"minute\"\n[training]\ntotal_steps = 4000\n\
                learning_starts = 500\nvalidate_every = 2000\nenvs = 8\n[network]\nhidden = [32, 32]\n";
    let source: DataSource = "synthetic:2023-01-01..2023-03-31:seed=4:minutes"
        .parse()
        .unwrap();
    let (bt_power, rp_power, bt_profit, rp_profit) = trained_backtest_and_replay(text, source, 1);
    assert!(bt_power.len() >= 92 * 15);
    assert_eq!(bt_power, rp_power);
    assert!(bt_power.iter().any(|p| *p != 0.0), "the run never trades");
    let (a, b): (f64, f64) = (bt_profit.iter().sum(), rp_profit.iter().sum());
    assert!((a - b).abs() < 1e-6, "backtest {a} EUR, replay {b} EUR");
}
