//! Descriptive statistics of a price series: moments, quantiles, negative share, time-of-day
//! profile and autocorrelation. Shared by `data inspect`, the synthetic-market calibration and its
//! tests, so both sides of a comparison are computed by the same code.

use crate::calendar::{wall_clock_slot, QH_SECONDS};
use crate::QhRecord;
use imbarb_util::stats::quantile_sorted;
use serde::{Deserialize, Serialize};

/// Quantile levels reported everywhere (1, 10, 50, 90, 99 %).
pub const QUANTILE_LEVELS: [f64; 5] = [0.01, 0.10, 0.50, 0.90, 0.99];

/// Autocorrelation lags (in quarter-hours) reported everywhere.
pub const ACF_LAGS: [usize; 4] = [1, 2, 4, 96];

/// Summary statistics of quarter-hour prices (EUR/MWh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceStats {
    /// Number of prices.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Quantiles at `QUANTILE_LEVELS`.
    pub quantiles: [f64; 5],
    /// Share of prices below zero.
    pub negative_share: f64,
    /// Mean price per Brussels wall-clock quarter-hour slot (96 values).
    pub mean_by_slot: Vec<f64>,
    /// Autocorrelation at `ACF_LAGS`, over pairs that are both present on the 15-minute grid.
    pub acf: [f64; 4],
}

/// Places the series on a gap-aware 15-minute grid (`None` where missing).
pub fn on_grid(qh: &[QhRecord]) -> Vec<Option<f64>> {
    let (Some(first), Some(last)) = (qh.first(), qh.last()) else {
        return vec![];
    };
    let n = ((last.start_utc - first.start_utc).num_seconds() / QH_SECONDS) as usize + 1;
    let mut grid = vec![None; n];
    for r in qh {
        let i = ((r.start_utc - first.start_utc).num_seconds() / QH_SECONDS) as usize;
        grid[i] = Some(r.price.reference_eur_per_mwh());
    }
    grid
}

/// Autocorrelation at `lag` of a gridded series: mean of centred products over present pairs,
/// divided by the variance (the estimator numpy users write by hand).
pub fn acf(grid: &[Option<f64>], lag: usize) -> f64 {
    let values: Vec<f64> = grid.iter().flatten().copied().collect();
    if values.len() < 2 || lag >= grid.len() {
        return f64::NAN;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    let (mut sum, mut n) = (0.0, 0usize);
    for (a, b) in grid.iter().zip(&grid[lag..]) {
        if let (Some(a), Some(b)) = (a, b) {
            sum += (a - mean) * (b - mean);
            n += 1;
        }
    }
    if n == 0 || var == 0.0 {
        f64::NAN
    } else {
        sum / n as f64 / var
    }
}

impl PriceStats {
    /// Statistics of the reference price of `qh` (the single price, or the mean of both legs).
    /// `None` for an empty series.
    pub fn of(qh: &[QhRecord]) -> Option<PriceStats> {
        if qh.is_empty() {
            return None;
        }
        let mut prices: Vec<f64> = qh.iter().map(|r| r.price.reference_eur_per_mwh()).collect();
        let n = prices.len() as f64;
        let mean = prices.iter().sum::<f64>() / n;
        let std = (prices.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n).sqrt();
        let negative_share = prices.iter().filter(|p| **p < 0.0).count() as f64 / n;
        let mut sums = vec![(0.0, 0usize); 96];
        for r in qh {
            let s = &mut sums[wall_clock_slot(r.start_utc)];
            s.0 += r.price.reference_eur_per_mwh();
            s.1 += 1;
        }
        let mean_by_slot = sums
            .iter()
            .map(|(s, c)| if *c > 0 { s / *c as f64 } else { f64::NAN })
            .collect();
        prices.sort_by(f64::total_cmp);
        let grid = on_grid(qh);
        Some(PriceStats {
            count: prices.len(),
            mean,
            std,
            min: prices[0],
            max: prices[prices.len() - 1],
            quantiles: QUANTILE_LEVELS.map(|p| quantile_sorted(&prices, p)),
            negative_share,
            mean_by_slot,
            acf: ACF_LAGS.map(|lag| acf(&grid, lag)),
        })
    }
}

/// The level, spread and negative share of a set of prices: what a deployed run records of its
/// training prices, so the service can warn when the market it sees has moved away from them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceSummary {
    /// Number of prices.
    pub count: usize,
    /// Mean, EUR/MWh.
    pub mean: f64,
    /// Population standard deviation, EUR/MWh.
    pub std: f64,
    /// Share of prices below zero.
    pub negative_share: f64,
}

impl PriceSummary {
    /// The summary of `prices` (non-finite values skipped); `None` when none is finite.
    pub fn of(prices: impl IntoIterator<Item = f64>) -> Option<PriceSummary> {
        let (mut n, mut sum, mut sq, mut neg) = (0usize, 0.0, 0.0, 0usize);
        for p in prices.into_iter().filter(|p| p.is_finite()) {
            n += 1;
            sum += p;
            sq += p * p;
            neg += usize::from(p < 0.0);
        }
        (n > 0).then(|| {
            let mean = sum / n as f64;
            PriceSummary {
                count: n,
                mean,
                std: (sq / n as f64 - mean * mean).max(0.0).sqrt(),
                negative_share: neg as f64 / n as f64,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_summary_matches_the_full_statistics() {
        let prices = [-10.0, 0.0, 20.0, 50.0, f64::NAN];
        let s = PriceSummary::of(prices).unwrap();
        assert_eq!(s.count, 4);
        assert!((s.mean - 15.0).abs() < 1e-12);
        // Population variance of (-25, -15, 5, 35): (625 + 225 + 25 + 1225) / 4 = 525.
        assert!((s.std - 525f64.sqrt()).abs() < 1e-9);
        assert_eq!(s.negative_share, 0.25);
        assert!(PriceSummary::of([f64::NAN]).is_none());
    }

    #[test]
    fn acf_of_alternating_series_is_minus_one() {
        let g: Vec<Option<f64>> = (0..100)
            .map(|i| Some(if i % 2 == 0 { 1.0 } else { -1.0 }))
            .collect();
        assert!((acf(&g, 1) + 1.0).abs() < 0.02);
        assert!((acf(&g, 2) - 1.0).abs() < 0.02);
        let mut gapped = g.clone();
        gapped[10] = None;
        assert!((acf(&gapped, 2) - 1.0).abs() < 0.03);
    }
}
