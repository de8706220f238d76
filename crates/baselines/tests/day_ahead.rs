//! The baselines read the day-ahead price where it is public: the MPC's base curve is a
//! least-squares blend that recovers a known linear relation, and the threshold rule picks a
//! day-ahead signal when that signal is what pays.

use imbarb_baselines::{ForecastMpc, RuleSignal, ThresholdRule};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::{read_bytes, DayAheadPrice};
use imbarb_sim::{ActionSpace, EnvConfig, Granularity, MarketDays, MarketFeatures, Policy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` days whose imbalance price is `price_of(day-ahead)` plus `noise`, with a random
/// day-ahead curve (hourly blocks) published beside it.
fn days_with(n: usize, price_of: impl Fn(f64) -> f64, noise: f64) -> MarketDays {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut csv = String::from("timestamp_utc,imbalance_price_eur_mwh,day_ahead_price_eur_mwh\n");
    let mut date: chrono::NaiveDate = "2024-06-03".parse().unwrap();
    let mut dates = vec![];
    for _ in 0..n {
        let mut hour_price = 0.0;
        for (q, t) in day_qh_starts(date).iter().enumerate() {
            if q % 4 == 0 {
                hour_price = rng.gen_range(-50.0..250.0f64).round();
            }
            let p = price_of(hour_price) + rng.gen_range(-noise..=noise);
            csv.push_str(&format!(
                "{},{p},{hour_price}\n",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        dates.push(date);
        date = date.succ_opt().unwrap();
    }
    let data = read_bytes("t.csv", csv.as_bytes()).unwrap();
    assert!(matches!(data.day_ahead.first(), Some(DayAheadPrice { .. })));
    MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap()
}

#[test]
fn mpc_base_curve_recovers_a_linear_day_ahead_relation() {
    let days = days_with(20, |da| 10.0 + 2.0 * da, 0.0);
    let train: Vec<usize> = (0..20).collect();
    let b = imbarb_sim::BatteryConfig::default();
    let mpc = ForecastMpc::fit(&days, &train, b, ActionSpace::Discrete { levels: 3 }, 16).unwrap();
    let [a, slope, c] = mpc.day_ahead_blend.expect("a blend is fitted");
    // The profile is itself a (noisy) function of the day-ahead price, so the exact relation is
    // reached through the day-ahead term alone.
    assert!((a - 10.0).abs() < 1e-6 && (slope - 2.0).abs() < 1e-8 && c.abs() < 1e-8);
    assert!(mpc.name().contains("day-ahead"), "{}", mpc.name());
}

#[test]
fn mpc_without_day_ahead_keeps_the_profile_forecast() {
    let mut days = days_with(5, |da| da, 0.0);
    days.grid_day_ahead.clear();
    let train: Vec<usize> = (0..5).collect();
    let b = imbarb_sim::BatteryConfig::default();
    let mpc = ForecastMpc::fit(&days, &train, b, ActionSpace::Discrete { levels: 3 }, 16).unwrap();
    assert_eq!(mpc.day_ahead_blend, None);
}

#[test]
fn threshold_rule_picks_the_day_ahead_signal_when_it_pays() {
    // The imbalance price is the day-ahead price: the current hour's day-ahead price is the
    // best signal a rule can read; the last price lags it by a quarter-hour.
    let days = days_with(10, |da| da, 1.0);
    let train: Vec<usize> = (0..10).collect();
    let config = EnvConfig::default();
    let features =
        MarketFeatures::build(&days, &config.observation, Granularity::Qh, &train).unwrap();
    let rule = ThresholdRule::fit(&days, &features, &config, &train).unwrap();
    assert_ne!(rule.signal, RuleSignal::LastPrice, "{rule:?}");
    let mut last_only = days.clone();
    last_only.grid_day_ahead.clear();
    let plain = ThresholdRule::fit(&last_only, &features, &config, &train).unwrap();
    assert_eq!(plain.signal, RuleSignal::LastPrice);
    let profit = |r: &ThresholdRule, d: &MarketDays| {
        imbarb_baselines::rules::profit_of(d, &features, &config, &train, &mut r.clone()).unwrap()
    };
    assert!(profit(&rule, &days) > profit(&plain, &last_only));
}
