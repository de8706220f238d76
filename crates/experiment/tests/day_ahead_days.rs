//! Days without a day-ahead curve, for a run that observes it: left out and named
//! (`day_ahead_missing = "exclude"`), or kept with the training mean in the curve's place and a
//! `day_ahead_known` column that says where it is real (`"mean"`). Never silently.

use imbarb_experiment::{build_setup, DaySet};
use imbarb_market::SplitSpec;
use imbarb_sim::{DayAheadMissing, EnvConfig, ObservationConfig};

/// A 20-day price file and a day-ahead file covering only its last 10 days.
fn files(dir: &std::path::Path) -> Vec<imbarb_market::source::DataSource> {
    let start: chrono::DateTime<chrono::Utc> = "2024-05-31T22:00:00Z".parse().unwrap();
    let (mut qh, mut da) = (
        String::from("timestamp_utc,imbalance_price_eur_mwh\n"),
        String::from("timestamp_utc,day_ahead_price_eur_mwh\n"),
    );
    for i in 0..20 * 96 {
        let t = (start + chrono::TimeDelta::minutes(15 * i)).format("%Y-%m-%dT%H:%M:%SZ");
        qh.push_str(&format!("{t},{}\n", (i % 96) as f64 + (i / 96) as f64));
        if i >= 10 * 96 {
            da.push_str(&format!("{t},{}\n", (i % 96) as f64));
        }
    }
    std::fs::write(dir.join("qh.csv"), qh).unwrap();
    std::fs::write(dir.join("da.csv"), da).unwrap();
    ["qh.csv", "da.csv"]
        .iter()
        .map(|f| dir.join(f).display().to_string().parse().unwrap())
        .collect()
}

#[test]
fn days_without_a_curve_are_excluded_or_shown_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let sources = files(dir.path());
    let split = SplitSpec::parse("explicit:train=2024-06-01..2024-06-15,validation=2024-06-16..2024-06-17,test=2024-06-18..2024-06-19").unwrap();
    let env = |missing| EnvConfig {
        observation: ObservationConfig {
            day_ahead: 4,
            day_ahead_missing: missing,
            ..ObservationConfig::default()
        },
        ..EnvConfig::default()
    };
    let excluded = build_setup(
        &sources,
        &split,
        env(DayAheadMissing::Exclude),
        0,
        DaySet::Test,
    )
    .unwrap();
    assert_eq!(excluded.no_day_ahead_days.len(), 10);
    assert_eq!(excluded.train.len(), 5, "June 11-15 have a curve");
    assert!(excluded
        .describe()
        .contains("10 days without a complete day-ahead curve left out"));

    let kept = build_setup(
        &sources,
        &split,
        env(DayAheadMissing::Mean),
        0,
        DaySet::Test,
    )
    .unwrap();
    assert!(kept.no_day_ahead_days.is_empty());
    assert_eq!(kept.train.len(), 15);
    let f = &kept.features;
    let known = f.names.iter().position(|n| n == "day_ahead_known").unwrap();
    let da0 = f.names.iter().position(|n| n == "day_ahead_0").unwrap();
    for (d, day) in kept.days.days.iter().enumerate() {
        let has = day.date >= "2024-06-11".parse().unwrap();
        for q in 0..day.n_qh() {
            let row = f.row(d, q);
            let raw_known = row[known] as f64 * f.std[known] + f.mean[known];
            assert!(
                (raw_known - f64::from(u8::from(has))).abs() < 1e-5,
                "{} {q}",
                day.date
            );
            if !has {
                assert_eq!(row[da0], 0.0, "the training mean where missing");
            }
        }
    }
    // Without any day-ahead data the observation is refused, naming what is missing.
    let e = build_setup(
        &sources[..1],
        &split,
        env(DayAheadMissing::Mean),
        0,
        DaySet::Test,
    )
    .err()
    .unwrap();
    assert!(format!("{e:#}").contains("day-ahead"), "{e:#}");
}
