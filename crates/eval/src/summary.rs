//! Results over seeds: the mean with a Student-t confidence interval, as an experiment reports
//! each agent (a handful of seeds, so the normal 1.96 would be far too narrow).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The mean of per-seed results with the half-width of its two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeedSummary {
    /// Number of seeds.
    pub n: usize,
    /// Mean over seeds.
    pub mean: f64,
    /// Half-width of the interval: t_{(1+level)/2, n-1} x s / sqrt(n); `None` with one seed.
    pub half_width: Option<f64>,
}

/// Mean and `level` (e.g. 0.95) Student-t interval of `values`; `None` when empty or when a
/// value is not finite.
pub fn mean_interval(values: &[f64], level: f64) -> Option<SeedSummary> {
    let n = values.len();
    if n == 0 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let half_width = if n > 1 {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .ok()?
            .inverse_cdf(0.5 + level / 2.0);
        Some(t * (var / n as f64).sqrt())
    } else {
        None
    };
    Some(SeedSummary {
        n,
        mean,
        half_width,
    })
}

impl SeedSummary {
    /// "603.7 ± 83.3" (one seed: just the value).
    pub fn display(&self, decimals: usize) -> String {
        match self.half_width {
            Some(h) => format!("{:.d$} ± {:.d$}", self.mean, h, d = decimals),
            None => format!("{:.d$}", self.mean, d = decimals),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_interval_by_hand() {
        // Values 1, 2, 3: mean 2, s = 1, t_{0.975, 2} = 4.3027, half-width 4.3027 / sqrt(3).
        let s = mean_interval(&[1.0, 2.0, 3.0], 0.95).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 2.0).abs() < 1e-12);
        let want = 4.302_652_7 / 3f64.sqrt();
        assert!((s.half_width.unwrap() - want).abs() < 1e-5, "{s:?}");
        // Two seeds: t_{0.975, 1} = 12.7062; s = |a - b| / sqrt(2).
        let s = mean_interval(&[10.0, 14.0], 0.95).unwrap();
        let want = 12.706_204_7 * (8f64.sqrt() / 2f64.sqrt());
        assert!((s.half_width.unwrap() - want).abs() < 1e-4, "{s:?}");
        assert_eq!(s.display(1), format!("12.0 ± {want:.1}"));
        // One seed has no interval; nothing or NaN has no summary.
        assert_eq!(mean_interval(&[5.0], 0.95).unwrap().half_width, None);
        assert!(mean_interval(&[], 0.95).is_none());
        assert!(mean_interval(&[1.0, f64::NAN], 0.95).is_none());
    }
}
