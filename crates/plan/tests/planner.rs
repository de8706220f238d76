//! The forecaster and the stochastic MPC on the synthetic market: the forecaster beats the
//! naive forecasts it must beat, the planner never reads a price published after its decision
//! time, and the same seed gives the same decisions.

use chrono::{NaiveDate, TimeDelta};
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, MarketData, QhPrice};
use imbarb_plan::forecast::rows;
use imbarb_plan::{evaluate, ForecastConfig, SmpcConfig, StochasticMpc};
use imbarb_sim::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn market() -> (MarketData, Vec<NaiveDate>) {
    let data = generate(
        &SynthParams::embedded().unwrap(),
        d("2023-01-01"),
        d("2023-04-10"),
        11,
        false,
    )
    .unwrap();
    let dates = Coverage::of(&data).complete_days;
    (data, dates)
}

fn small() -> ForecastConfig {
    ForecastConfig {
        hidden: vec![64],
        steps: 3_000,
        validate_every: 500,
        ..ForecastConfig::default()
    }
}

#[test]
fn forecaster_beats_persistence_and_profile_on_crps() {
    let (data, dates) = market();
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap();
    let n = days.days.len();
    let train: Vec<usize> = (0..n - 20).collect();
    let eval: Vec<usize> = (n - 20..n).collect();
    let f = imbarb_plan::QuantileForecaster::fit(&days, &train, &small()).unwrap();
    assert!(f.validation.0.is_finite() && f.validation.1 > 0);
    let scores = evaluate(&f, &days, &train, &eval).unwrap();
    let crps = |name: &str, h: usize| {
        scores
            .iter()
            .find(|s| s.forecast == name && s.horizon == h)
            .unwrap()
            .crps
    };
    let mean = |name: &str| (1..=16).map(|h| crps(name, h)).sum::<f64>() / 16.0;
    assert!(mean("forecaster") < mean("persistence"), "{scores:?}");
    assert!(mean("forecaster") < mean("profile"), "{scores:?}");
    // No day-ahead file: no day-ahead forecast is scored.
    assert!(scores.iter().all(|s| s.forecast != "day-ahead"));
    // Quantiles never cross, on every evaluation row.
    let features = f.features_for(&days).unwrap();
    let r = rows(&days, &features, &eval, 16);
    let mut q = vec![];
    f.predict(&r.x, r.len(), &mut Default::default(), &mut q);
    for row in q.chunks(19) {
        assert!(row.windows(2).all(|w| w[1] >= w[0]));
    }
}

#[test]
fn the_planner_never_reads_later_prices_and_repeats_by_seed() {
    planner_never_reads_later_prices(false);
}

#[test]
fn the_planner_over_trees_never_reads_later_prices_and_repeats_by_seed() {
    planner_never_reads_later_prices(true);
}

/// Two planners fitted alike, one deciding on data garbled after a cut, plan alike up to it.
fn planner_never_reads_later_prices(trees: bool) {
    let (data, dates) = market();
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap();
    let n = days.days.len();
    let train: Vec<usize> = (0..n - 10).collect();
    // The trees (one ensemble per horizon) at a shorter horizon and fewer levels, to stay quick.
    let forecast = if trees {
        ForecastConfig {
            horizon: 8,
            quantiles: 9,
            ..small()
        }
    } else {
        small()
    };
    let config = SmpcConfig {
        scenarios: 8,
        forecast,
        trees,
        ..SmpcConfig::default()
    };
    let battery = BatteryConfig {
        cycles_per_day: Some(1.1),
        ..BatteryConfig::default()
    };
    let space = ActionSpace::Discrete { levels: 3 };
    let mut a = StochasticMpc::fit(&days, &train, battery, space, &config).unwrap();
    assert_eq!(a.name().contains("trees"), trees, "{}", a.name());
    let day = n - 5;
    let cut_qh = 40;
    let cut = days.qh_start(days.days[day].grid_offset + cut_qh);
    // Every final price of a quarter-hour ending after the cut becomes garbage.
    let mut garbled = data.clone();
    for r in &mut garbled.qh {
        if r.start_utc + TimeDelta::minutes(15) > cut {
            r.price = QhPrice::Single(9_999.0 - r.price.reference_eur_per_mwh());
        }
    }
    let days_b = MarketDays::new(&garbled, &dates, Granularity::Qh, 0).unwrap();
    let mut b = StochasticMpc::fit(&days, &train, battery, space, &config).unwrap();
    b.decide_on(&days_b).unwrap();
    let features = MarketFeatures::build(
        &days,
        &ObservationConfig::default(),
        Granularity::Qh,
        &train,
    )
    .unwrap();
    let env_cfg = EnvConfig {
        battery,
        actions: space,
        ..EnvConfig::default()
    };
    let mut env = VecEnv::new(&days, &features, env_cfg).unwrap();
    env.reset(&[day], &[1.0]);
    let mut planned = 0;
    for q in 0..=cut_qh {
        let decision = env.decision(0);
        let pa = a.plan(&decision).unwrap();
        let pb = b.plan(&decision).unwrap();
        // The same decision on data garbled after it: the same plan, to the last bit.
        assert_eq!(pa, pb, "qh {q}");
        planned += 1;
        let action = a.act(&decision);
        env.step_actions(&[action]);
    }
    assert_eq!(planned, cut_qh + 1);
}
