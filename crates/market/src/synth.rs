//! The synthetic market: a seeded generator of quarter-hour prices and per-minute running
//! estimates for any date range, calibrated to real Elia data. Everything it produces is labelled
//! synthetic (`Format::Synthetic`, `Metadata::synthetic`).
//!
//! Model (a Gaussian copula over a two-speed latent process):
//! - latent `z_t = sqrt(w) * s_t + sqrt(1 - w) * f_t`, where `s` (slow: day-to-day level) and `f`
//!   (fast: quarter-hour noise) are unit-variance AR(1) processes;
//! - price `p_t = offset[slot] + Q_hour(z_t)`, where `slot` is the Brussels wall-clock
//!   quarter-hour, `offset` its mean's deviation from its hour's mean, and `Q_hour` maps a
//!   standard-normal score to the real empirical price quantile of that local hour (so the marginal
//!   distribution, its tails and the daily shape are the real ones);
//! - per-minute running estimates: the final price plus a whole residual path (estimate at minute m
//!   minus the estimate at minute 14) drawn from real Elia ods161 quarter-hours.
//!
//! `w` and the two AR coefficients are fitted so the price autocorrelation at lags 1, 2, 4 and 96
//! matches the real series.

use crate::calendar::{day_start_utc, local_day, wall_clock_slot, QH_SECONDS};
use crate::stats::{PriceStats, ACF_LAGS};
use crate::types::hex;
use crate::{
    Components, DataError, Format, Market, MarketData, Metadata, MinuteRecord, Pricing, QhPrice,
    QhRecord, Quality, Result, SourceFile,
};
use chrono::{Datelike, NaiveDate, TimeDelta};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Normal scores at which the residual quantile function is tabulated: -Z_MAX..=Z_MAX.
const Z_MAX: f64 = 3.75;
/// Spacing of the normal-score grid.
const Z_STEP: f64 = 0.05;

/// The parameter set of the synthetic market (what `imbarb data calibrate` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthParams {
    /// What the parameters were calibrated on (files and their SHA-256).
    pub calibrated_on: Vec<String>,
    /// Per wall-clock slot (96): the slot's mean price minus its hour's mean price, EUR/MWh.
    pub slot_offset_eur_per_mwh: Vec<f64>,
    /// Per Brussels local hour (24): price quantiles at normal scores -3.75, -3.70, ..., 3.75
    /// (after removing the slot offsets), EUR/MWh.
    pub hour_quantiles_eur_per_mwh: Vec<Vec<f64>>,
    /// Variance share of the slow latent component.
    pub slow_weight: f64,
    /// AR(1) coefficient of the slow component, per quarter-hour.
    pub slow_ar: f64,
    /// AR(1) coefficient of the fast component, per quarter-hour.
    pub fast_ar: f64,
    /// Real per-minute residual paths (estimate at minute m minus estimate at minute 14), EUR/MWh.
    pub minute_residual_paths: Vec<[f64; 15]>,
}

/// The parameters calibrated on `elia_be_imbalance_qh_2022-07_2023-08_combined.csv` and the ods161
/// samples, embedded so the default market needs no downloaded data. Regenerate with
/// `imbarb data calibrate <combined.csv> --minutes <ods161 samples> --out crates/market/src/synth_default.json`.
const DEFAULT_PARAMS_JSON: &str = include_str!("synth_default.json");

impl SynthParams {
    /// The embedded default parameters.
    pub fn embedded() -> Result<SynthParams> {
        serde_json::from_str(DEFAULT_PARAMS_JSON)
            .map_err(|e| DataError::Invalid(format!("embedded synthetic parameters: {e}")))
    }

    /// Reads parameters written by `imbarb data calibrate`.
    pub fn from_json(path: &std::path::Path, text: &str) -> Result<SynthParams> {
        let p: SynthParams = serde_json::from_str(text).map_err(|e| {
            DataError::Invalid(format!(
                "{}: invalid synthetic parameters: {e}",
                path.display()
            ))
        })?;
        p.check()?;
        Ok(p)
    }

    /// Checks shapes and ranges.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(DataError::Invalid(format!("synthetic parameters: {m}")));
        if self.slot_offset_eur_per_mwh.len() != 96
            || self.slot_offset_eur_per_mwh.iter().any(|v| !v.is_finite())
        {
            return bad("slot_offset_eur_per_mwh needs 96 finite values".into());
        }
        if self.hour_quantiles_eur_per_mwh.len() != 24 {
            return bad("hour_quantiles_eur_per_mwh needs 24 rows".into());
        }
        for (h, q) in self.hour_quantiles_eur_per_mwh.iter().enumerate() {
            if q.len() != grid_len() {
                return bad(format!(
                    "hour_quantiles_eur_per_mwh[{h}] needs {} values",
                    grid_len()
                ));
            }
            if q.iter().any(|v| !v.is_finite()) || q.windows(2).any(|w| w[0] > w[1]) {
                return bad(format!(
                    "hour_quantiles_eur_per_mwh[{h}] must be finite and non-decreasing"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.slow_weight)
            || !(0.0..1.0).contains(&self.slow_ar)
            || !(0.0..1.0).contains(&self.fast_ar)
        {
            return bad("slow_weight must be in [0, 1] and AR coefficients in [0, 1)".into());
        }
        if self.minute_residual_paths.is_empty() {
            return bad("minute_residual_paths is empty".into());
        }
        Ok(())
    }

    /// The price of wall-clock `slot` at latent normal score `z`: the slot offset plus the hour's
    /// quantile function at `z` (piecewise linear between grid scores, clamped at the ends).
    fn price(&self, slot: usize, z: f64) -> f64 {
        let x = ((z + Z_MAX) / Z_STEP).clamp(0.0, (grid_len() - 1) as f64);
        let i = (x as usize).min(grid_len() - 2);
        let f = x - i as f64;
        let q = &self.hour_quantiles_eur_per_mwh[slot / 4];
        self.slot_offset_eur_per_mwh[slot] + q[i] + f * (q[i + 1] - q[i])
    }

    /// A short fingerprint of the parameters, recorded as the data hash of synthetic runs.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        hex(&Sha256::digest(json.as_bytes()))
    }
}

fn grid_len() -> usize {
    (2.0 * Z_MAX / Z_STEP).round() as usize + 1
}

/// The normal scores of the residual grid.
fn z_grid() -> impl Iterator<Item = f64> {
    (0..grid_len()).map(|i| -Z_MAX + i as f64 * Z_STEP)
}

/// Standard normal CDF (Abramowitz-Stegun 7.1.26 via erfc; |error| < 1.5e-7, ample for
/// choosing quantile levels).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Draws the latent two-speed process for `n` steps.
fn latent(n: usize, w: f64, slow_ar: f64, fast_ar: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let (ws, wf) = (w.sqrt(), (1.0 - w).sqrt());
    let (ks, kf) = (
        (1.0 - slow_ar * slow_ar).sqrt(),
        (1.0 - fast_ar * fast_ar).sqrt(),
    );
    let mut s: f64 = rng.sample(StandardNormal);
    let mut f: f64 = rng.sample(StandardNormal);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let es: f64 = rng.sample(StandardNormal);
        let ef: f64 = rng.sample(StandardNormal);
        s = slow_ar * s + ks * es;
        f = fast_ar * f + kf * ef;
        out.push(ws * s + wf * f);
    }
    out
}

/// The first quarter-hour start and the wall-clock slot of every quarter-hour of `from..=to`.
/// Converts time zones only on days that do not have 96 quarter-hours.
fn slots_of(from: NaiveDate, to: NaiveDate) -> Result<(chrono::DateTime<chrono::Utc>, Vec<u8>)> {
    let days = (to - from).num_days() + 1;
    if days > 200_000 {
        return Err(DataError::Invalid(format!(
            "synthetic range {from}..{to} is too long ({days} days; at most 200,000)"
        )));
    }
    let mut slots = Vec::with_capacity(days as usize * 96);
    for day in crate::calendar::days_inclusive(from, to) {
        let n = crate::calendar::qhs_in_day(day);
        if n == 96 {
            slots.extend(0..96u8);
        } else {
            let s = day_start_utc(day);
            slots.extend(
                (0..n as i64)
                    .map(|i| wall_clock_slot(s + TimeDelta::seconds(i * QH_SECONDS)) as u8),
            );
        }
    }
    Ok((day_start_utc(from), slots))
}

/// Draws a price path for the given wall-clock slots.
fn price_path(params: &SynthParams, slots: &[u8], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let z = latent(
        slots.len(),
        params.slow_weight,
        params.slow_ar,
        params.fast_ar,
        rng,
    );
    z.iter()
        .zip(slots)
        .map(|(z, &slot)| params.price(slot as usize, *z))
        .collect()
}

/// Generates a synthetic market over the Brussels days `from..=to`.
pub fn generate(
    params: &SynthParams,
    from: NaiveDate,
    to: NaiveDate,
    seed: u64,
    with_minutes: bool,
) -> Result<MarketData> {
    params.check()?;
    if from > to {
        return Err(DataError::Invalid(format!(
            "synthetic range: --from {from} is after --to {to}"
        )));
    }
    let (start, slots) = slots_of(from, to)?;
    let n = slots.len();
    // The reader refuses timestamps beyond these years: never write a file it cannot read back.
    let last = start + TimeDelta::seconds((n.max(1) as i64 - 1) * QH_SECONDS);
    let years = crate::read::MIN_YEAR..=crate::read::MAX_YEAR;
    if !years.contains(&start.year()) || !years.contains(&last.year()) {
        return Err(DataError::Invalid(format!(
            "synthetic range --from {from} --to {to}: quarter-hours must lie in the supported years {}..={} (UTC)",
            crate::read::MIN_YEAR,
            crate::read::MAX_YEAR
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let prices = price_path(params, &slots, &mut rng);
    let mut qh = Vec::with_capacity(n);
    for (i, price) in prices.into_iter().enumerate() {
        let t = start + TimeDelta::seconds(i as i64 * QH_SECONDS);
        // Round to cents like Elia's published prices.
        qh.push(QhRecord {
            start_utc: t,
            price: QhPrice::Single((price * 100.0).round() / 100.0),
            components: Components::default(),
            quality: Quality::Validated,
        });
    }
    let mut minutes = Vec::new();
    if with_minutes {
        minutes.reserve(n * 15);
        let paths = &params.minute_residual_paths;
        for r in &qh {
            let path = &paths[rng.gen_range(0..paths.len())];
            let p = r.price.reference_eur_per_mwh();
            for (m, residual) in path.iter().enumerate() {
                minutes.push(MinuteRecord {
                    minute_utc: r.start_utc + TimeDelta::minutes(m as i64),
                    qh_start_utc: r.start_utc,
                    price_estimate_eur_per_mwh: Some(((p + residual) * 1000.0).round() / 1000.0),
                    components: Components::default(),
                    quality: Quality::NotValidated,
                });
            }
        }
    }
    let description = format!(
        "synthetic:{from}..{to}:seed={seed}{}",
        if with_minutes { ":minutes" } else { "" }
    );
    let sha256 = hex(&Sha256::digest(
        format!("{description}:{}", params.fingerprint()).as_bytes(),
    ));
    Ok(MarketData {
        qh,
        minutes,
        day_ahead: vec![],
        meta: Metadata {
            market: Market::BE,
            pricing: Pricing::Single,
            sources: vec![SourceFile {
                path: description,
                format: Format::Synthetic,
                sha256,
                rows: n,
                ignored_columns: vec![],
            }],
            synthetic: true,
            duplicates_dropped: 0,
        },
    })
}

/// Fits the synthetic-market parameters to a real quarter-hour series, and takes the per-minute
/// residual paths from `minutes` (complete quarter-hours with all 15 estimates) or, when `None`,
/// from the embedded defaults.
pub fn calibrate(qh_data: &MarketData, minutes: Option<&MarketData>) -> Result<SynthParams> {
    let qh = &qh_data.qh;
    if qh.len() < 96 * 14 {
        return Err(DataError::Invalid(format!(
            "calibration needs at least 14 days of quarter-hours, got {}",
            qh.len()
        )));
    }
    let target =
        PriceStats::of(qh).ok_or_else(|| DataError::Invalid("calibration: empty series".into()))?;
    // Slot offsets inside each hour, then per-hour quantiles of the offset-free prices.
    let mut slot_sum = vec![(0.0f64, 0usize); 96];
    for r in qh {
        let s = &mut slot_sum[wall_clock_slot(r.start_utc)];
        s.0 += r.price.reference_eur_per_mwh();
        s.1 += 1;
    }
    if slot_sum.iter().any(|s| s.1 < 10) {
        return Err(DataError::Invalid(
            "calibration: every wall-clock quarter-hour needs at least 10 prices".into(),
        ));
    }
    let slot_mean: Vec<f64> = slot_sum.iter().map(|s| s.0 / s.1 as f64).collect();
    let slot_offset: Vec<f64> = (0..96)
        .map(|s| slot_mean[s] - slot_mean[s / 4 * 4..s / 4 * 4 + 4].iter().sum::<f64>() / 4.0)
        .collect();
    let mut by_hour = vec![Vec::new(); 24];
    for r in qh {
        let slot = wall_clock_slot(r.start_utc);
        by_hour[slot / 4].push(r.price.reference_eur_per_mwh() - slot_offset[slot]);
    }
    let hour_quantiles: Vec<Vec<f64>> = by_hour
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            z_grid()
                .map(|z| imbarb_util::stats::quantile_sorted(v, normal_cdf(z)))
                .collect()
        })
        .collect();

    let minute_residual_paths = match minutes {
        Some(m) => residual_paths(m)?,
        None => SynthParams::embedded()?.minute_residual_paths,
    };
    let mut params = SynthParams {
        calibrated_on: qh_data
            .meta
            .sources
            .iter()
            .chain(minutes.map_or(&[][..], |m| &m.meta.sources[..]))
            .map(|s| format!("{} sha256={}", file_name(&s.path), s.sha256))
            .collect(),
        slot_offset_eur_per_mwh: slot_offset,
        hour_quantiles_eur_per_mwh: hour_quantiles,
        slow_weight: 0.5,
        slow_ar: 0.99,
        fast_ar: 0.8,
        minute_residual_paths,
    };
    fit_latent(&mut params, qh_data, &target.acf)?;
    Ok(params)
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Residual paths of every quarter-hour that has all 15 per-minute price estimates.
fn residual_paths(m: &MarketData) -> Result<Vec<[f64; 15]>> {
    let mut paths = Vec::new();
    for group in m.minutes.chunk_by(|a, b| a.qh_start_utc == b.qh_start_utc) {
        if group.len() != 15 {
            continue;
        }
        let mut est = [0.0; 15];
        let mut complete = true;
        for r in group {
            match r.price_estimate_eur_per_mwh {
                Some(p) => est[r.minute_in_qh() as usize] = p,
                None => complete = false,
            }
        }
        if complete {
            paths.push(est.map(|e| e - est[14]));
        }
    }
    if paths.is_empty() {
        return Err(DataError::Invalid(
            "calibration: the per-minute file has no quarter-hour with all 15 price estimates"
                .into(),
        ));
    }
    Ok(paths)
}

/// Fits (slow_weight, slow_ar, fast_ar) so the synthetic autocorrelation at `ACF_LAGS` matches
/// `target`, by Nelder-Mead on common random numbers over the calibration period repeated 3x.
fn fit_latent(params: &mut SynthParams, data: &MarketData, target: &[f64; 4]) -> Result<()> {
    let first = data.qh.first().map(|r| local_day(r.start_utc));
    let last = data.qh.last().map(|r| local_day(r.start_utc));
    let (Some(first), Some(last)) = (first, last) else {
        return Err(DataError::Invalid("calibration: empty series".into()));
    };
    let span_days = (last - first).num_days() + 1;
    let (_, slots) = slots_of(first, first + TimeDelta::days(3 * span_days - 1))?;
    // Unconstrained coordinates: logit(w), log(slow time constant), log(fast time constant).
    let decode = |x: &[f64; 3]| {
        let w = 1.0 / (1.0 + (-x[0]).exp());
        let slow_ar = (-1.0 / x[1].exp().max(1.0)).exp();
        let fast_ar = (-1.0 / x[2].exp().max(0.05)).exp();
        (w, slow_ar, fast_ar)
    };
    let objective = |x: &[f64; 3]| -> f64 {
        let mut p = params.clone();
        (p.slow_weight, p.slow_ar, p.fast_ar) = decode(x);
        let prices = price_path(&p, &slots, &mut ChaCha8Rng::seed_from_u64(0xCA11B));
        let grid: Vec<Option<f64>> = prices.into_iter().map(Some).collect();
        ACF_LAGS
            .iter()
            .zip(target)
            .map(|(&lag, &t)| ((crate::stats::acf(&grid, lag) - t) / t).powi(2))
            .sum()
    };
    let best = nelder_mead(objective, [0.0, 5.0, 0.5], 0.7, 120);
    (params.slow_weight, params.slow_ar, params.fast_ar) = decode(&best);
    Ok(())
}

/// Minimises `f` over R^3 with the Nelder-Mead simplex method. Written here because a 3-parameter
/// fit does not justify the dependency tree of a general optimisation crate.
fn nelder_mead(
    f: impl Fn(&[f64; 3]) -> f64,
    x0: [f64; 3],
    step: f64,
    iterations: usize,
) -> [f64; 3] {
    let mut simplex: Vec<([f64; 3], f64)> = (0..4)
        .map(|i| {
            let mut x = x0;
            if i > 0 {
                x[i - 1] += step;
            }
            (x, f(&x))
        })
        .collect();
    let lerp = |a: &[f64; 3], b: &[f64; 3], t: f64| -> [f64; 3] {
        [0, 1, 2].map(|k| a[k] + t * (b[k] - a[k]))
    };
    for _ in 0..iterations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let centroid = [0, 1, 2].map(|k| simplex[..3].iter().map(|s| s.0[k]).sum::<f64>() / 3.0);
        let worst = simplex[3];
        let reflected = lerp(&centroid, &worst.0, -1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = lerp(&centroid, &worst.0, -2.0);
            let fe = f(&expanded);
            simplex[3] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[2].1 {
            simplex[3] = (reflected, fr);
        } else {
            let contracted = lerp(&centroid, &worst.0, 0.5);
            let fc = f(&contracted);
            if fc < worst.1 {
                simplex[3] = (contracted, fc);
            } else {
                let best = simplex[0].0;
                for s in simplex.iter_mut().skip(1) {
                    s.0 = lerp(&best, &s.0, 0.5);
                    s.1 = f(&s.0);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex[0].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_points() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-2.326_348) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn nelder_mead_finds_a_quadratic_minimum() {
        let x = nelder_mead(
            |x| (x[0] - 1.0).powi(2) + 2.0 * (x[1] + 2.0).powi(2) + (x[2] - 0.5).powi(2),
            [0.0, 0.0, 0.0],
            1.0,
            300,
        );
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] + 2.0).abs() < 1e-4 && (x[2] - 0.5).abs() < 1e-4
        );
    }
}
