//! Backtests: ledgers add up, the oracle replayed in the simulator earns what it promised, and
//! fitted baselines earn more than idle on the synthetic market.

use imbarb_baselines::{ForecastMpc, Idle, ThresholdRule, TimeOfDaySchedule};
use imbarb_eval::{backtest, oracle_policy, Metrics, Oracle};
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::*;

struct World {
    days: MarketDays,
    features: MarketFeatures,
    train: Vec<usize>,
    test: Vec<usize>,
}

fn world(granularity: Granularity) -> World {
    let data = generate(
        &SynthParams::embedded().unwrap(),
        "2023-01-01".parse().unwrap(),
        "2023-02-28".parse().unwrap(),
        11,
        false,
    )
    .unwrap();
    let cov = Coverage::of(&data);
    let splits = DaySplits::new(&cov, &SplitSpec::Paper);
    let days = MarketDays::new(&data, &cov.complete_days, granularity, 0).unwrap();
    let pick = |s: Split| -> Vec<usize> {
        (0..days.days.len())
            .filter(|&i| splits.days(s).contains(&days.days[i].date))
            .collect()
    };
    let (train, test) = (pick(Split::Train), pick(Split::Test));
    let features =
        MarketFeatures::build(&days, &ObservationConfig::default(), granularity, &train).unwrap();
    World {
        days,
        features,
        train,
        test,
    }
}

#[test]
fn ledger_adds_up_and_dp_oracle_replays_exactly() {
    let w = world(Granularity::Qh);
    for soc in [
        InitialSoc::Fixed { fraction: 0.5 },
        InitialSoc::CarryOver {
            first_fraction: 0.5,
        },
    ] {
        let cfg = EnvConfig {
            battery: BatteryConfig {
                initial_soc: soc,
                ..BatteryConfig::default()
            },
            actions: ActionSpace::Discrete { levels: 3 },
            ..EnvConfig::default()
        };
        let oracle = Oracle::solve(&w.days, &w.test, &cfg).unwrap();
        assert!(oracle.method.starts_with("dp"));
        let mut replay = oracle_policy(&oracle, &w.test, &cfg);
        let bt = backtest(&w.days, &w.features, &cfg, &w.test, &mut replay).unwrap();
        let total: f64 = bt.days.iter().map(|d| d.profit_eur).sum();
        assert!(
            (total - oracle.total_eur()).abs() < 1e-6,
            "{soc:?}: replay {total} vs oracle {}",
            oracle.total_eur()
        );
        let ledger_total: f64 = bt.ledger.iter().map(|r| r.profit_eur).sum();
        assert!((ledger_total - total).abs() < 1e-6);
        assert_eq!(
            bt.ledger.len(),
            w.test.iter().map(|&d| w.days.days[d].n_qh()).sum::<usize>()
        );
        let m = Metrics::of(&bt, Some(oracle.total_eur()), 1.0);
        assert!((m.pct_of_perfect.unwrap() - 100.0).abs() < 1e-6);
        assert!(bt.ledger_csv().lines().count() == bt.ledger.len() + 1);
    }
}

#[test]
fn lp_oracle_replay_recovers_almost_all_of_it() {
    // The LP may charge and discharge within one quarter-hour (burning energy at negative prices),
    // which a battery cannot: its replay recovers slightly less than the bound.
    for g in [Granularity::Qh, Granularity::Minute] {
        let w = world(g);
        let cfg = EnvConfig {
            granularity: g,
            actions: ActionSpace::Continuous,
            ..EnvConfig::default()
        };
        let oracle = Oracle::solve(&w.days, &w.test, &cfg).unwrap();
        let mut replay = oracle_policy(&oracle, &w.test, &cfg);
        let bt = backtest(&w.days, &w.features, &cfg, &w.test, &mut replay).unwrap();
        let m = Metrics::of(&bt, Some(oracle.total_eur()), 1.0);
        let pct = m.pct_of_perfect.unwrap();
        assert!((95.0..=100.0 + 1e-6).contains(&pct), "{g:?}: {pct}");
    }
}

#[test]
fn fitted_baselines_beat_idle_and_stay_below_the_oracle() {
    let w = world(Granularity::Qh);
    let cfg = EnvConfig {
        actions: ActionSpace::Continuous,
        battery: BatteryConfig {
            cycles_per_day: Some(1.1),
            ..BatteryConfig::default()
        },
        ..EnvConfig::default()
    };
    let oracle = Oracle::solve(&w.days, &w.test, &cfg).unwrap();
    let mut rule = ThresholdRule::fit(&w.days, &w.features, &cfg, &w.train).unwrap();
    assert!(rule.low < rule.high);
    let mut sched = TimeOfDaySchedule::fit(&w.days, &w.features, &cfg, &w.train).unwrap();
    let mut mpc = ForecastMpc::fit(&w.days, &w.train, cfg.battery, cfg.actions, 16).unwrap();
    let mut idle = Idle { space: cfg.actions };
    let policies: Vec<&mut dyn Policy> = vec![&mut rule, &mut sched, &mut mpc, &mut idle];
    let mut per_day = vec![];
    for p in policies {
        let bt = backtest(&w.days, &w.features, &cfg, &w.test, p).unwrap();
        let m = Metrics::of(&bt, Some(oracle.total_eur()), 1.0);
        assert!(
            m.cycles_per_day <= 1.1 + 1e-9,
            "{}: {}",
            m.policy,
            m.cycles_per_day
        );
        assert!(m.total_eur <= oracle.total_eur() + 1e-6, "{}", m.policy);
        per_day.push(m.eur_per_day);
    }
    assert_eq!(per_day[3], 0.0);
    assert!(per_day[0] > 0.0 && per_day[2] > 0.0, "{per_day:?}");
}

#[test]
fn clipped_levels_take_the_continuous_bound() {
    // Levels that clip at the limits reach SoCs off the DP lattice: the oracle is the
    // continuous LP. The exact DP of whole levels stays below it. A threshold rule meets the
    // limits with clipped levels (the ledger shows it) and never with whole ones.
    let w = world(Granularity::Qh);
    let with = |limits: LevelLimits| EnvConfig {
        actions: ActionSpace::Discrete { levels: 3 },
        levels_at_limits: limits,
        ..EnvConfig::default()
    };
    let continuous = EnvConfig {
        actions: ActionSpace::Continuous,
        ..EnvConfig::default()
    };
    let clip = Oracle::solve(&w.days, &w.test, &with(LevelLimits::Clip)).unwrap();
    let lp = Oracle::solve(&w.days, &w.test, &continuous).unwrap();
    assert!(clip.method.starts_with("lp"), "{}", clip.method);
    assert!((clip.total_eur() - lp.total_eur()).abs() < 1e-6);
    let whole = Oracle::solve(&w.days, &w.test, &with(LevelLimits::Whole)).unwrap();
    assert!(whole.method.starts_with("dp"));
    assert!(whole.total_eur() < clip.total_eur());
    let rule = |cfg: &EnvConfig| {
        let mut rule = ThresholdRule::fit(&w.days, &w.features, cfg, &w.train).unwrap();
        let bt = backtest(&w.days, &w.features, cfg, &w.test, &mut rule).unwrap();
        let clipped: f64 = bt.ledger.iter().map(|r| r.clipped_mw.abs()).sum();
        (bt.days.iter().map(|d| d.profit_eur).sum::<f64>(), clipped)
    };
    let (whole_eur, whole_clipped) = rule(&with(LevelLimits::Whole));
    let (clip_eur, clip_clipped) = rule(&with(LevelLimits::Clip));
    assert_eq!(whole_clipped, 0.0, "whole levels never clip");
    assert!(clip_clipped > 0.0, "the rule meets a limit on some day");
    assert!(whole_eur <= whole.total_eur() + 1e-6 && clip_eur <= clip.total_eur() + 1e-6);
}
