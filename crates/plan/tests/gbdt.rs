//! The forecaster's tree baseline on real Belgian prices (the embedded 2022-23 file): it beats
//! persistence and the time-of-day profile on held-out days, its quantiles never cross, it
//! repeats by seed, and it is scored by the same code as the MLP.

use imbarb_market::source::belgium;
use imbarb_market::Coverage;
use imbarb_plan::forecast::rows;
use imbarb_plan::{evaluate, ForecastConfig, GbdtConfig, GbdtForecaster, QuantileModel};
use imbarb_sim::{Granularity, MarketDays};

/// 140 consecutive real days (2022-07 .. 11): 120 to train (the last 15 % of them stop the
/// boosting), the next 20 to score.
fn real_days() -> (MarketDays, Vec<usize>, Vec<usize>) {
    let data = belgium().unwrap();
    let dates = Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates[..140], Granularity::Qh, 0).unwrap();
    (days, (0..120).collect(), (120..140).collect())
}

fn config() -> GbdtConfig {
    GbdtConfig {
        base: ForecastConfig {
            horizon: 4,
            quantiles: 9,
            ..ForecastConfig::default()
        },
        max_rounds: 150,
        ..GbdtConfig::default()
    }
}

/// Every evaluation row's quantiles, as the forecaster gives them.
fn quantiles(f: &GbdtForecaster, days: &MarketDays, eval: &[usize]) -> Vec<f64> {
    let features = f.features_for(days).unwrap();
    let r = rows(days, &features, eval, f.horizon());
    let mut all = vec![];
    f.for_each_quantiles(&r.x, &mut |_, q| all.extend_from_slice(q))
        .unwrap();
    assert_eq!(all.len(), r.len() * f.horizon() * 9);
    all
}

#[test]
fn trees_beat_persistence_and_profile_on_real_prices_and_repeat_by_seed() {
    let (days, train, eval) = real_days();
    let f = GbdtForecaster::fit(&days, &train, &config()).unwrap();
    assert!(f.validation.is_finite());
    assert_eq!(f.rounds.len(), 4);
    assert!(f.rounds.iter().all(|&r| (1..=150).contains(&r)));
    let scores = evaluate(&f, &days, &train, &eval).unwrap();
    let crps = |name: &str, h: usize| {
        scores
            .iter()
            .find(|s| s.forecast == name && s.horizon == h)
            .unwrap()
            .crps
    };
    let mean = |name: &str| (1..=4).map(|h| crps(name, h)).sum::<f64>() / 4.0;
    assert!(mean("forecaster") < mean("persistence"), "{scores:?}");
    for h in 1..=4 {
        assert!(crps("forecaster", h) < crps("profile", h), "{scores:?}");
    }
    let q = quantiles(&f, &days, &eval);
    for levels in q.chunks(9) {
        assert!(levels.windows(2).all(|w| w[1] >= w[0]), "{levels:?}");
    }
    // The same seed grows the same trees.
    let again = GbdtForecaster::fit(&days, &train, &config()).unwrap();
    assert_eq!(again.rounds, f.rounds);
    assert_eq!(quantiles(&again, &days, &eval), q);
}

#[test]
fn bad_settings_are_refused_by_name() {
    let (days, train, _) = real_days();
    for (bad, key) in [
        (
            GbdtConfig {
                eta: 0.0,
                ..config()
            },
            "gbdt.eta",
        ),
        (
            GbdtConfig {
                max_depth: 0,
                ..config()
            },
            "gbdt.max_depth",
        ),
        (
            GbdtConfig {
                max_rounds: 0,
                ..config()
            },
            "gbdt.max_rounds",
        ),
        (
            GbdtConfig {
                base: ForecastConfig {
                    horizon: 0,
                    ..ForecastConfig::default()
                },
                ..config()
            },
            "forecast.horizon",
        ),
    ] {
        let e = GbdtForecaster::fit(&days, &train, &bad).err().unwrap();
        assert!(e.to_string().contains(key), "{e}");
    }
}
