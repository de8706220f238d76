//! The baselines read the day-ahead price where it is public: the MPC's base curve is a
//! least-squares blend that recovers a known linear relation, and the threshold rule picks a
//! day-ahead signal when that signal is what pays; refit every day on recent days, the MPC
//! follows a change in that relation.

use imbarb_baselines::{BaselineError, ForecastMpc, RollingMpc, RuleSignal, ThresholdRule};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::{read_bytes, DayAheadPrice};
use imbarb_sim::{ActionSpace, EnvConfig, Granularity, MarketDays, MarketFeatures, Policy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` days whose imbalance price is `price_of(day number, day-ahead)` plus `noise`, with a
/// random day-ahead curve (hourly blocks) published beside it.
fn days_with(n: usize, price_of: impl Fn(usize, f64) -> f64, noise: f64) -> MarketDays {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut csv = String::from("timestamp_utc,imbalance_price_eur_mwh,day_ahead_price_eur_mwh\n");
    let mut date: chrono::NaiveDate = "2024-06-03".parse().unwrap();
    let mut dates = vec![];
    for day in 0..n {
        let mut hour_price = 0.0;
        for (q, t) in day_qh_starts(date).iter().enumerate() {
            if q % 4 == 0 {
                hour_price = rng.gen_range(-50.0..250.0f64).round();
            }
            let p = price_of(day, hour_price) + rng.gen_range(-noise..=noise);
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
    let days = days_with(20, |_, da| 10.0 + 2.0 * da, 0.0);
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
    let mut days = days_with(5, |_, da| da, 0.0);
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
    let days = days_with(10, |_, da| da, 1.0);
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

/// The relation between the imbalance and day-ahead prices changes on day 20: the MPC refit
/// each morning on the last 7 days has the old blend up to day 20 and the new one exactly from
/// day 27 (its window then holds only new days), while one fit on every day has neither.
#[test]
fn rolling_mpc_refits_each_day_on_the_days_before_it() {
    let days = days_with(
        40,
        |day, da| {
            if day < 20 {
                10.0 + 2.0 * da
            } else {
                -30.0 + 0.5 * da
            }
        },
        0.0,
    );
    let b = imbarb_sim::BatteryConfig::default();
    let space = ActionSpace::Discrete { levels: 3 };
    let decide_on: Vec<usize> = (1..40).collect();
    let rolling = RollingMpc::fit(&days, &decide_on, 7, b, space, 16).unwrap();
    let blend = |d: usize| {
        rolling
            .on(days.days[d].date)
            .unwrap()
            .day_ahead_blend
            .unwrap()
    };
    let close = |x: [f64; 3], y: [f64; 3]| x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-6);
    for d in [8, 20] {
        assert!(close(blend(d), [10.0, 2.0, 0.0]), "day {d}: {:?}", blend(d));
    }
    for d in [27, 39] {
        assert!(
            close(blend(d), [-30.0, 0.5, 0.0]),
            "day {d}: {:?}",
            blend(d)
        );
    }
    // In between, a mix of both: neither relation.
    assert!(!close(blend(23), [10.0, 2.0, 0.0]) && !close(blend(23), [-30.0, 0.5, 0.0]));
    // Each day's MPC is the plain MPC fitted on the days before it, at most 7 back (fewer at
    // the start).
    let all: Vec<usize> = (0..40).collect();
    for d in [1usize, 5, 30] {
        let window: Vec<usize> = (d.saturating_sub(7)..d).collect();
        assert_eq!(
            imbarb_baselines::mpc_rolling::window_before(&days, days.days[d].date, 7),
            window
        );
        let plain = ForecastMpc::fit(&days, &window, b, space, 16).unwrap();
        let own = rolling.on(days.days[d].date).unwrap();
        assert_eq!(
            (own.profile.clone(), own.rho, own.day_ahead_blend),
            (plain.profile, plain.rho, plain.day_ahead_blend)
        );
        // What a planner following the market values stored energy at: the day's MPC's value,
        // the window's mean price (summed here by hand) times the discharge efficiency.
        let terminal =
            imbarb_baselines::mpc_rolling::rolling_terminal(&days, 7, &b, days.days[d].date)
                .unwrap();
        assert_eq!(terminal, own.terminal_eur_per_mwh);
        let prices: Vec<f64> = window
            .iter()
            .flat_map(|&w| {
                days.days[w]
                    .prices
                    .iter()
                    .map(|p| p.reference_eur_per_mwh())
            })
            .collect();
        let mean = prices.iter().sum::<f64>() / prices.len() as f64;
        assert!(
            (terminal - mean * b.discharge_efficiency).abs() < 1e-9,
            "day {d}: {terminal} vs {mean} x {}",
            b.discharge_efficiency
        );
    }
    // Day 30's window (days 23-29) holds only the new, cheaper relation: worth less than day 5's.
    let at = |d: usize| {
        imbarb_baselines::mpc_rolling::rolling_terminal(&days, 7, &b, days.days[d].date).unwrap()
    };
    assert!(at(30) < at(5), "{} vs {}", at(30), at(5));
    assert_eq!(
        imbarb_baselines::mpc_rolling::rolling_terminal(&days, 7, &b, days.days[0].date),
        None
    );
    let once = ForecastMpc::fit(&days, &all, b, space, 16)
        .unwrap()
        .day_ahead_blend
        .unwrap();
    assert!(!close(once, [10.0, 2.0, 0.0]) && !close(once, [-30.0, 0.5, 0.0]));
    // Days it was not fitted for are not guessed at.
    assert!(rolling.on(days.days[0].date).is_none());
    assert!(rolling.name().contains("7 days"), "{}", rolling.name());
}

/// The first day has no day before it to refit on, and a window of no day is refused: both
/// named.
#[test]
fn rolling_mpc_refuses_a_day_without_a_window() {
    let days = days_with(3, |_, da| da, 1.0);
    let b = imbarb_sim::BatteryConfig::default();
    let space = ActionSpace::Discrete { levels: 3 };
    let err = RollingMpc::fit(&days, &[0, 1], 7, b, space, 16).unwrap_err();
    assert!(matches!(err, BaselineError::EmptyWindow { .. }));
    assert!(err.to_string().contains("2024-06-03"), "{err}");
    let err = RollingMpc::fit(&days, &[1], 0, b, space, 16).unwrap_err();
    assert!(err.to_string().contains("window 0 days"), "{err}");
    // The forecasts a planner reads: for a whole setup the first day falls back on the last
    // known price; one decision at a time it is refused; later days agree both ways.
    let rule = imbarb_sim::DayAheadRule::default();
    let all = imbarb_baselines::mpc_rolling::rolling_forecasts(&days, 7, 4, b, &rule).unwrap();
    assert_eq!(all.len(), 3 * 96 * 4);
    let g0 = days.days[0].grid_offset;
    assert_eq!(&all[10 * 4..11 * 4], &[days.grid_price[g0 + 9]; 4]);
    let at = |d: usize, q: usize| {
        let g = days.days[d].grid_offset + q;
        imbarb_baselines::mpc_rolling::rolling_forecast_at(
            &days,
            7,
            4,
            b,
            &rule,
            days.days[d].date,
            g,
        )
    };
    assert!(matches!(at(0, 10), Err(BaselineError::EmptyWindow { .. })));
    for (d, q) in [(1, 0), (1, 50), (2, 95)] {
        assert_eq!(
            at(d, q).unwrap(),
            all[(d * 96 + q) * 4..(d * 96 + q + 1) * 4]
        );
    }
}
