//! Scores of probabilistic forecasts per horizon, for the forecaster and the naive forecasts it
//! must beat: persistence (the last published price), the training profile by time of day, and
//! the day-ahead price where it is public at the decision time. Each naive forecast is made
//! probabilistic the standard way, with its own training residuals' quantiles per horizon, so
//! every forecast is scored on the same quantile levels.
//!
//! CRPS is approximated from the quantiles as twice the mean pinball loss over the levels (exact
//! in the limit of many levels); coverage is the share of prices inside the central 80 %
//! interval (10 % and 90 % levels, interpolated when those are not levels); MAE is the median's.

use crate::forecast::{pinball, rows, QuantileModel, Rows};
use imbarb_market::calendar::wall_clock_slot;
use imbarb_sim::MarketDays;
use imbarb_util::stats::quantile_sorted;
use serde::Serialize;

/// A naive forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NaiveKind {
    /// The last published final price, for every horizon.
    Persistence,
    /// The training days' mean price of the target's Brussels time slot.
    Profile,
    /// The day-ahead price of the target quarter-hour, where public at the decision time.
    DayAhead,
}

impl NaiveKind {
    /// All of them.
    pub const ALL: [NaiveKind; 3] = [
        NaiveKind::Persistence,
        NaiveKind::Profile,
        NaiveKind::DayAhead,
    ];

    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            NaiveKind::Persistence => "persistence",
            NaiveKind::Profile => "profile",
            NaiveKind::DayAhead => "day-ahead",
        }
    }
}

/// One forecast's scores at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonScores {
    /// `forecaster` or a naive forecast's name.
    pub forecast: String,
    /// Quarter-hours ahead, 1 = the current quarter-hour.
    pub horizon: usize,
    /// Rows scored.
    pub rows: usize,
    /// Continuous ranked probability score, EUR/MWh (lower is better).
    pub crps: f64,
    /// Share of prices inside the 10-90 % interval (0.8 for a calibrated forecast).
    pub coverage_80: f64,
    /// Mean absolute error of the median, EUR/MWh.
    pub mae_median: f64,
}

/// Quantile of level `p` from levels `taus` and values `q` (linear between levels, the end
/// values beyond them).
pub fn quantile_at(taus: &[f64], q: &[f64], p: f64) -> f64 {
    if p <= taus[0] {
        return q[0];
    }
    for k in 1..taus.len() {
        if p <= taus[k] {
            let w = (p - taus[k - 1]) / (taus[k] - taus[k - 1]);
            return q[k - 1] + w * (q[k] - q[k - 1]);
        }
    }
    q[q.len() - 1]
}

/// Accumulates scores of quantile forecasts at one horizon.
#[derive(Debug, Clone, Default)]
struct Acc {
    rows: usize,
    pinball: f64,
    inside: usize,
    abs_median: f64,
}

impl Acc {
    fn add(&mut self, taus: &[f64], q: &[f64], y: f64) {
        self.pinball += pinball(taus, q, y);
        let (lo, hi) = (quantile_at(taus, q, 0.1), quantile_at(taus, q, 0.9));
        self.inside += usize::from(y >= lo && y <= hi);
        self.abs_median += (y - quantile_at(taus, q, 0.5)).abs();
        self.rows += 1;
    }

    fn scores(&self, forecast: &str, horizon: usize) -> HorizonScores {
        let n = self.rows.max(1) as f64;
        HorizonScores {
            forecast: forecast.to_string(),
            horizon,
            rows: self.rows,
            crps: 2.0 * self.pinball / n,
            coverage_80: self.inside as f64 / n,
            mae_median: self.abs_median / n,
        }
    }
}

/// A naive point forecast of price `g + h` from the decision at grid index `g` (None where it
/// has none: no published price yet, no public day-ahead price).
struct Naive<'a> {
    days: &'a MarketDays,
    profile: Vec<f64>,
    rule: Option<imbarb_sim::DayAheadRule>,
}

impl Naive<'_> {
    fn point(&self, kind: NaiveKind, d: usize, g: usize, h: usize) -> Option<f64> {
        let days = self.days;
        let v = match kind {
            NaiveKind::Persistence => days.grid_price[..g]
                .iter()
                .rev()
                .find(|p| !p.is_nan())
                .copied()?,
            NaiveKind::Profile => self.profile[wall_clock_slot(days.qh_start(g + h))],
            NaiveKind::DayAhead => {
                let rule = self.rule.as_ref()?;
                let known = rule
                    .ends(days, days.days[d].date)
                    .at(days.qh_start(g))
                    .min(days.grid_day_ahead.len());
                if g + h >= known {
                    return None;
                }
                days.grid_day_ahead[g + h]
            }
        };
        (!v.is_nan()).then_some(v)
    }
}

/// Scores the forecaster and the naive forecasts on `eval` days, per horizon; the naive
/// forecasts' residual quantiles come from `train` days. Rows: every quarter-hour start with a
/// complete horizon of published prices.
pub fn evaluate(
    forecaster: &dyn QuantileModel,
    days: &MarketDays,
    train: &[usize],
    eval: &[usize],
) -> Result<Vec<HorizonScores>, crate::PlanError> {
    let (h, taus) = (forecaster.horizon(), forecaster.taus());
    let features = forecaster.features_for(days)?;
    let train_rows = rows(days, &features, train, h);
    let eval_rows = rows(days, &features, eval, h);
    let naive = Naive {
        days,
        profile: imbarb_baselines::rules::train_profile(days, train),
        rule: if days.grid_day_ahead.is_empty() {
            None
        } else {
            forecaster.observation().day_ahead_rule().ok()
        },
    };
    let mut out = vec![];
    // The forecaster.
    let mut acc = vec![Acc::default(); h];
    let k = taus.len();
    forecaster.for_each_quantiles(&eval_rows.x, &mut |i, q| {
        for (t, a) in acc.iter_mut().enumerate() {
            a.add(&taus, &q[t * k..(t + 1) * k], eval_rows.y[i * h + t]);
        }
    })?;
    out.extend(
        acc.iter()
            .enumerate()
            .map(|(t, a)| a.scores("forecaster", t + 1)),
    );
    // The naive forecasts, with their training residuals' quantiles.
    for kind in NaiveKind::ALL {
        let residual_q = residual_quantiles(&naive, kind, days, &train_rows, h, &taus);
        let Some(residual_q) = residual_q else {
            continue;
        };
        let mut acc = vec![Acc::default(); h];
        let mut qs = vec![0.0; k];
        for (i, &(d, qh)) in eval_rows.at.iter().enumerate() {
            let g = days.days[d].grid_offset + qh;
            for (t, a) in acc.iter_mut().enumerate() {
                let Some(point) = naive.point(kind, d, g, t) else {
                    continue;
                };
                for (v, r) in qs.iter_mut().zip(&residual_q[t]) {
                    *v = point + r;
                }
                a.add(&taus, &qs, eval_rows.y[i * h + t]);
            }
        }
        out.extend(
            acc.iter()
                .enumerate()
                .filter(|(_, a)| a.rows > 0)
                .map(|(t, a)| a.scores(kind.name(), t + 1)),
        );
    }
    Ok(out)
}

/// Per horizon, the `taus` quantiles of the naive forecast's training residuals (price minus
/// point forecast); None when the forecast has no training point at some horizon.
fn residual_quantiles(
    naive: &Naive,
    kind: NaiveKind,
    days: &MarketDays,
    train_rows: &Rows,
    h: usize,
    taus: &[f64],
) -> Option<Vec<Vec<f64>>> {
    let mut res: Vec<Vec<f64>> = vec![vec![]; h];
    for (i, &(d, qh)) in train_rows.at.iter().enumerate() {
        let g = days.days[d].grid_offset + qh;
        for (t, r) in res.iter_mut().enumerate() {
            if let Some(p) = naive.point(kind, d, g, t) {
                r.push(train_rows.y[i * h + t] - p);
            }
        }
    }
    res.into_iter()
        .map(|mut r| {
            if r.is_empty() {
                return None;
            }
            r.sort_by(f64::total_cmp);
            Some(
                taus.iter()
                    .map(|&p| quantile_sorted(&r, p))
                    .collect::<Vec<f64>>(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crps_from_many_quantiles_of_a_normal_matches_its_closed_form() {
        // CRPS(N(0, 1), y) = y (2 Phi(y) - 1) + 2 phi(y) - 1 / sqrt(pi).
        use statrs::distribution::{Continuous, ContinuousCDF, Normal};
        let n = Normal::standard();
        let levels = 999;
        let taus: Vec<f64> = (1..=levels)
            .map(|k| k as f64 / (levels + 1) as f64)
            .collect();
        let q: Vec<f64> = taus.iter().map(|&t| n.inverse_cdf(t)).collect();
        for y in [-2.0, -0.3, 0.0, 0.7, 1.9] {
            let mut a = Acc::default();
            a.add(&taus, &q, y);
            let crps = a.scores("n", 1).crps;
            let exact =
                y * (2.0 * n.cdf(y) - 1.0) + 2.0 * n.pdf(y) - 1.0 / std::f64::consts::PI.sqrt();
            assert!((crps - exact).abs() < 2e-3, "y {y}: {crps} vs {exact}");
        }
    }

    #[test]
    fn quantile_interpolation_and_coverage() {
        let taus = [0.25, 0.5, 0.75];
        let q = [1.0, 2.0, 4.0];
        assert_eq!(quantile_at(&taus, &q, 0.5), 2.0);
        assert_eq!(quantile_at(&taus, &q, 0.625), 3.0);
        assert_eq!(quantile_at(&taus, &q, 0.1), 1.0);
        assert_eq!(quantile_at(&taus, &q, 0.95), 4.0);
        let mut a = Acc::default();
        a.add(&taus, &q, 3.0);
        a.add(&taus, &q, 9.0);
        let s = a.scores("x", 1);
        assert_eq!(s.coverage_80, 0.5);
        assert_eq!(s.mae_median, (1.0 + 7.0) / 2.0);
    }
}
