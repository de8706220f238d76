//! The synthetic market: calibration against the real combined file, reproducibility, labelling.

use imbarb_market::calendar::local_day;
use imbarb_market::stats::{PriceStats, ACF_LAGS, QUANTILE_LEVELS};
use imbarb_market::synth::{calibrate, generate, SynthParams};
use imbarb_market::*;
use imbarb_util::testdata::require_shared_data;

const COMBINED: &str = "elia_be_imbalance_qh_2022-07_2023-08_combined.csv";
const ODS161: &str = "elia_be_imbalance_price_minute_ods161_samples_2024-09-06_2025-04-08.csv";

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn within(what: &str, synthetic: f64, real: f64, tolerance: f64, failures: &mut Vec<String>) {
    let rel = (synthetic - real).abs() / real.abs();
    if rel > tolerance {
        failures.push(format!(
            "{what}: synthetic {synthetic:.3} vs real {real:.3} ({:.1} %)",
            rel * 100.0
        ));
    }
}

#[test]
fn synthetic_statistics_are_within_15_percent_of_the_real_file() {
    let Some(dir) = require_shared_data("synthetic_statistics_within_15_percent") else {
        return;
    };
    let real = PriceStats::of(&read_file(dir.join(COMBINED)).unwrap().qh).unwrap();
    // 40 years: the generator's own distribution, not one 14-month draw of it (a single 14-month
    // draw varies by seed like the real 14 months would).
    let synth = generate(
        &SynthParams::embedded().unwrap(),
        d("2000-01-01"),
        d("2039-12-31"),
        7,
        false,
    )
    .unwrap();
    let s = PriceStats::of(&synth.qh).unwrap();
    let mut failures = vec![];
    within("mean", s.mean, real.mean, 0.15, &mut failures);
    within("std", s.std, real.std, 0.15, &mut failures);
    for (i, level) in QUANTILE_LEVELS.iter().enumerate() {
        within(
            &format!("quantile {level}"),
            s.quantiles[i],
            real.quantiles[i],
            0.15,
            &mut failures,
        );
    }
    within(
        "negative share",
        s.negative_share,
        real.negative_share,
        0.15,
        &mut failures,
    );
    for slot in 0..96 {
        within(
            &format!("mean of slot {slot}"),
            s.mean_by_slot[slot],
            real.mean_by_slot[slot],
            0.15,
            &mut failures,
        );
    }
    for (i, lag) in ACF_LAGS.iter().enumerate() {
        within(
            &format!("autocorrelation lag {lag}"),
            s.acf[i],
            real.acf[i],
            0.15,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn calibrate_reproduces_the_embedded_parameters() {
    let Some(dir) = require_shared_data("calibrate_reproduces_the_embedded_parameters") else {
        return;
    };
    let qh = read_file(dir.join(COMBINED)).unwrap();
    let minutes = read_file(dir.join(ODS161)).unwrap();
    let fitted = calibrate(&qh, Some(&minutes)).unwrap();
    let embedded = SynthParams::embedded().unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
    assert_eq!(fitted.calibrated_on, embedded.calibrated_on);
    assert!(close(fitted.slow_weight, embedded.slow_weight));
    assert!(close(fitted.slow_ar, embedded.slow_ar));
    assert!(close(fitted.fast_ar, embedded.fast_ar));
    let flat = |p: &SynthParams| -> Vec<f64> {
        p.slot_offset_eur_per_mwh
            .iter()
            .chain(p.hour_quantiles_eur_per_mwh.iter().flatten())
            .chain(p.minute_residual_paths.iter().flatten())
            .copied()
            .collect()
    };
    let (a, b) = (flat(&fitted), flat(&embedded));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| close(*x, *y)));
    // 100 complete real quarter-hours in the ods161 samples.
    assert_eq!(fitted.minute_residual_paths.len(), 100);
}

#[test]
fn same_seed_same_market_and_it_is_labelled_synthetic() {
    let p = SynthParams::embedded().unwrap();
    let a = generate(&p, d("2023-03-20"), d("2023-04-02"), 42, true).unwrap();
    let b = generate(&p, d("2023-03-20"), d("2023-04-02"), 42, true).unwrap();
    let c = generate(&p, d("2023-03-20"), d("2023-04-02"), 43, true).unwrap();
    assert_eq!(a.qh, b.qh);
    assert_eq!(a.minutes, b.minutes);
    assert_ne!(a.qh, c.qh);
    assert!(a.meta.synthetic);
    assert_eq!(a.meta.sources[0].format, Format::Synthetic);
    assert!(a.meta.sources[0].path.starts_with("synthetic:"));
    assert_ne!(a.data_hash(), c.data_hash());
    // Brussels days, DST included: 14 days, one of them 92 quarter-hours long.
    let cov = Coverage::of(&a);
    assert_eq!(cov.complete_days.len(), 14);
    assert_eq!(a.qh.len(), 13 * 96 + 92);
    assert_eq!(local_day(a.qh[0].start_utc), d("2023-03-20"));
}

#[test]
fn running_estimates_converge_to_the_final_price() {
    let p = SynthParams::embedded().unwrap();
    let m = generate(&p, d("2023-01-01"), d("2023-01-02"), 1, true).unwrap();
    assert_eq!(m.minutes.len(), m.qh.len() * 15);
    let mut moved = 0;
    for (q, group) in m.qh.iter().zip(m.minutes.chunks(15)) {
        for (i, r) in group.iter().enumerate() {
            assert_eq!(r.qh_start_utc, q.start_utc);
            assert_eq!(r.minute_in_qh() as usize, i);
        }
        let last = group[14].price_estimate_eur_per_mwh.unwrap();
        assert!((last - q.price.reference_eur_per_mwh()).abs() < 1e-6);
        if group[0].price_estimate_eur_per_mwh != Some(last) {
            moved += 1;
        }
    }
    assert!(
        moved > m.qh.len() / 2,
        "early estimates should differ from the final price"
    );
}

#[test]
fn bad_ranges_and_parameters_are_rejected() {
    let p = SynthParams::embedded().unwrap();
    let e = generate(&p, d("2023-02-01"), d("2023-01-01"), 0, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("after"), "{e}");
    let mut broken = p.clone();
    broken.hour_quantiles_eur_per_mwh[3][10] = f64::NAN;
    let e = generate(&broken, d("2023-01-01"), d("2023-01-01"), 0, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("hour_quantiles_eur_per_mwh[3]"), "{e}");
    let e = SynthParams::from_json(std::path::Path::new("p.json"), "{\"slow_weight\": 1}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("p.json"), "{e}");
}
