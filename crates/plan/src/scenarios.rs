//! Joint price paths from per-horizon quantile forecasts: a Gaussian copula. The forecaster
//! gives each horizon's marginal; how errors at different horizons move together is fitted on
//! training days (the correlation of the normal scores of the realised prices' quantile levels).
//! A path draws correlated normals, maps them to levels, and reads each horizon's quantile
//! function there. The same seed gives the same paths.

use crate::error::PlanError;
use crate::forecast::{QuantileModel, Rows};
use rand::Rng;
use rand_distr::StandardNormal;
use statrs::distribution::{ContinuousCDF, Normal};

/// Draws joint paths for one forecaster.
#[derive(Debug, Clone)]
pub struct ScenarioGenerator {
    /// Quantile levels of the forecasts it reads.
    pub taus: Vec<f64>,
    /// Lower Cholesky factor of the horizons' normal-score correlation, row-major `h x h`.
    pub cholesky: Vec<f64>,
    /// Horizons.
    pub horizon: usize,
}

/// The level at which the piecewise-linear quantile function `q` (levels `taus`) reaches `y`;
/// outside the forecast's range, halfway between its end level and 0 or 1.
pub fn level_of(taus: &[f64], q: &[f64], y: f64) -> f64 {
    let k = taus.len();
    if y <= q[0] {
        return taus[0] / 2.0;
    }
    if y >= q[k - 1] {
        return (1.0 + taus[k - 1]) / 2.0;
    }
    for j in 1..k {
        if y <= q[j] {
            let span = q[j] - q[j - 1];
            let w = if span > 0.0 {
                (y - q[j - 1]) / span
            } else {
                0.5
            };
            return taus[j - 1] + w * (taus[j] - taus[j - 1]);
        }
    }
    taus[k - 1]
}

/// The quantile function at level `u`: linear between levels, and beyond the end levels along
/// the end segments' slopes (heavy tails matter to a battery: spikes pay).
pub fn value_at(taus: &[f64], q: &[f64], u: f64) -> f64 {
    let k = taus.len();
    if k == 1 {
        return q[0];
    }
    let slope = |a: usize, b: usize| (q[b] - q[a]) / (taus[b] - taus[a]);
    if u <= taus[0] {
        return q[0] - (taus[0] - u) * slope(0, 1);
    }
    if u >= taus[k - 1] {
        return q[k - 1] + (u - taus[k - 1]) * slope(k - 2, k - 1);
    }
    crate::metrics::quantile_at(taus, q, u)
}

/// Cholesky factor of a symmetric positive-definite `n x n` matrix (row-major), or None.
/// Written by hand: a 16x16 factorisation does not justify a linear-algebra dependency.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

impl ScenarioGenerator {
    /// Fits the copula on the forecaster's predictions for `rows` (training days).
    pub fn fit(
        forecaster: &dyn QuantileModel,
        rows: &Rows,
    ) -> Result<ScenarioGenerator, PlanError> {
        let h = forecaster.horizon();
        let taus = forecaster.taus();
        let k = taus.len();
        let normal = Normal::standard();
        let mut sum = vec![0.0; h * h];
        let mut n = 0usize;
        let mut z = vec![0.0; h];
        forecaster.for_each_quantiles(&rows.x, &mut |i, q| {
            for (t, zt) in z.iter_mut().enumerate() {
                let u = level_of(&taus, &q[t * k..(t + 1) * k], rows.y[i * h + t]);
                *zt = normal.inverse_cdf(u);
            }
            for a in 0..h {
                for b in 0..h {
                    sum[a * h + b] += z[a] * z[b];
                }
            }
            n += 1;
        })?;
        // Correlation from the second moments (the scores are centred by construction), shrunk a
        // little towards the identity so the factorisation always exists.
        let mut corr = vec![0.0; h * h];
        for i in 0..h {
            for j in 0..h {
                let c = sum[i * h + j] / (sum[i * h + i] * sum[j * h + j]).sqrt().max(1e-12);
                corr[i * h + j] = if i == j { 1.0 } else { 0.98 * c };
            }
        }
        let identity = |n: usize| {
            let mut m = vec![0.0; n * n];
            (0..n).for_each(|i| m[i * n + i] = 1.0);
            m
        };
        let cholesky = if n < 2 {
            identity(h)
        } else {
            cholesky(&corr, h).unwrap_or_else(|| identity(h))
        };
        Ok(ScenarioGenerator {
            taus,
            cholesky,
            horizon: h,
        })
    }

    /// `n` paths (row-major `n x horizon`, EUR/MWh) from one forecast's quantiles
    /// (`horizon x quantiles`).
    pub fn sample(&self, quantiles: &[f64], n: usize, rng: &mut impl Rng, out: &mut Vec<f64>) {
        let (h, k) = (self.horizon, self.taus.len());
        let normal = Normal::standard();
        out.clear();
        out.resize(n * h, 0.0);
        let mut eps = vec![0.0; h];
        for path in out.chunks_mut(h) {
            for e in eps.iter_mut() {
                *e = rng.sample(StandardNormal);
            }
            for (t, v) in path.iter_mut().enumerate() {
                let z: f64 = (0..=t).map(|j| self.cholesky[t * h + j] * eps[j]).sum();
                let u = normal.cdf(z).clamp(1e-4, 1.0 - 1e-4);
                *v = value_at(&self.taus, &quantiles[t * k..(t + 1) * k], u);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn level_and_value_are_inverse_inside_the_range() {
        let taus = [0.1, 0.5, 0.9];
        let q = [10.0, 50.0, 200.0];
        for y in [12.0, 50.0, 77.0, 199.0] {
            let u = level_of(&taus, &q, y);
            assert!((value_at(&taus, &q, u) - y).abs() < 1e-9);
        }
        assert_eq!(level_of(&taus, &q, 0.0), 0.05);
        assert_eq!(level_of(&taus, &q, 500.0), 0.95);
        // Beyond the levels, along the end slopes.
        assert!((value_at(&taus, &q, 0.95) - (200.0 + 0.05 * 150.0 / 0.4)).abs() < 1e-9);
    }

    #[test]
    fn cholesky_reconstructs_the_matrix() {
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn paths_follow_the_marginals_and_the_correlation_and_repeat_by_seed() {
        // Two horizons, standard-normal marginals (many levels), correlation 0.8.
        let normal = Normal::standard();
        let levels = 199;
        let taus: Vec<f64> = (1..=levels)
            .map(|k| k as f64 / (levels + 1) as f64)
            .collect();
        let marginal: Vec<f64> = taus.iter().map(|&t| normal.inverse_cdf(t)).collect();
        let quantiles: Vec<f64> = marginal.iter().chain(&marginal).copied().collect();
        let rho: f64 = 0.8;
        let gen = ScenarioGenerator {
            taus,
            cholesky: vec![1.0, 0.0, rho, (1.0 - rho * rho).sqrt()],
            horizon: 2,
        };
        let n = 20_000;
        let mut paths = vec![];
        gen.sample(&quantiles, n, &mut ChaCha8Rng::seed_from_u64(1), &mut paths);
        let (mut below, mut prod) = (0usize, 0.0);
        for p in paths.chunks(2) {
            below += usize::from(p[0] < normal.inverse_cdf(0.1));
            prod += p[0] * p[1];
        }
        let share = below as f64 / n as f64;
        assert!(
            (share - 0.1).abs() < 0.01,
            "share below the 10 % quantile {share}"
        );
        assert!(
            (prod / n as f64 - rho).abs() < 0.03,
            "correlation {}",
            prod / n as f64
        );
        let mut again = vec![];
        gen.sample(&quantiles, n, &mut ChaCha8Rng::seed_from_u64(1), &mut again);
        assert_eq!(paths, again);
    }
}
