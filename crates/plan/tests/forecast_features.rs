//! The forecaster's quantiles as observation columns, on the synthetic market: the saved
//! forecaster forecasts exactly as the fitted one, a single decision's columns are the columns
//! of the whole-setup pass, a quarter-hour's columns never change when later prices do, and
//! wrong settings are refused by name.

use chrono::{NaiveDate, TimeDelta};
use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::{Coverage, QhPrice};
use imbarb_plan::{ForecastConfig, ForecastFeatures, QuantileForecaster};
use imbarb_sim::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn spec() -> ForecastFeatures {
    ForecastFeatures {
        levels: vec![0.25, 0.75],
        horizon: 3,
        forecaster: ForecastConfig {
            horizon: 4,
            quantiles: 3,
            hidden: vec![16],
            steps: 300,
            validate_every: 100,
            ..ForecastConfig::default()
        },
    }
}

#[test]
fn forecast_columns_are_saved_exactly_causal_and_the_same_one_decision_at_a_time() {
    let data = generate(
        &SynthParams::embedded().unwrap(),
        d("2023-01-01"),
        d("2023-02-20"),
        5,
        false,
    )
    .unwrap();
    let dates = Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap();
    let n = days.days.len();
    let train: Vec<usize> = (0..n - 10).collect();
    let spec = spec();
    let fitted = spec.fit(&days, &train).unwrap();
    let saved = QuantileForecaster::from_checkpoint(&fitted.to_checkpoint().unwrap(), "t").unwrap();
    assert_eq!(saved.mlp.params(), fitted.mlp.params());
    assert_eq!(saved.scaling, fitted.scaling);
    assert_eq!(saved.price_scale, fitted.price_scale);

    let base = MarketFeatures::build(
        &days,
        &ObservationConfig::default(),
        Granularity::Qh,
        &train,
    )
    .unwrap();
    let mut with = base.clone();
    spec.append(&saved, &days, &mut with).unwrap();
    assert_eq!(with.width, base.width + 6);
    assert_eq!(
        &with.names[base.width..base.width + 2],
        ["forecast_qh0_p25", "forecast_qh0_p75"]
    );
    // The market columns are untouched; the quantile columns are ordered (p25 <= p75).
    let day = n - 3;
    for q in 0..96 {
        let row = with.row(day, q);
        assert_eq!(&row[..base.width], base.row(day, q));
        for t in 0..3 {
            assert!(
                row[base.width + 2 * t] <= row[base.width + 2 * t + 1],
                "qh {q} t {t}"
            );
        }
        let one = spec
            .decision(
                &saved,
                &days,
                days.days[day].date,
                days.days[day].grid_offset + q,
            )
            .unwrap();
        assert_eq!(one, row[base.width..], "qh {q}");
    }

    // Later prices garbled: every column up to the cut is the same, and after it some change.
    let cut_qh = 50;
    let cut = days.qh_start(days.days[day].grid_offset + cut_qh);
    let mut garbled = data.clone();
    for r in &mut garbled.qh {
        if r.start_utc + TimeDelta::minutes(15) > cut {
            r.price = QhPrice::Single(5_000.0 - r.price.reference_eur_per_mwh());
        }
    }
    let days_b = MarketDays::new(&garbled, &dates, Granularity::Qh, 0).unwrap();
    let mut with_b = base.clone();
    spec.append(&saved, &days_b, &mut with_b).unwrap();
    for q in 0..=cut_qh {
        assert_eq!(
            with.row(day, q),
            with_b.row(day, q),
            "qh {q} read a later price"
        );
    }
    assert!((cut_qh + 1..96)
        .any(|q| with.row(day, q)[base.width..] != with_b.row(day, q)[base.width..]));
}

#[test]
fn wrong_forecast_settings_are_refused_by_name() {
    let mut s = spec();
    s.levels = vec![0.3];
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.levels: 0.3"), "{e}");
    let mut s = spec();
    s.horizon = 5;
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.horizon = 5"), "{e}");
    let mut s = spec();
    s.forecaster.steps = 0;
    let e = s.check().unwrap_err().to_string();
    assert!(e.contains("forecast_features.forecaster.steps"), "{e}");
}
