//! Distortion functions for risk-sensitive IQN (Dabney et al. 2018, section 3.1): acting on the
//! mean of quantiles at distorted fractions beta(tau), tau ~ U[0, 1].

use crate::distribution::Discrete;
use crate::normal::{normal_cdf, normal_quantile};
use imbarb_util::range::Range;
use serde::{Deserialize, Serialize};

/// A distortion of the quantile fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Distortion {
    /// No distortion: the mean.
    Neutral,
    /// CVaR(eta): beta(tau) = eta * tau, eta in (0, 1]; averages the worst eta share of outcomes.
    Cvar {
        /// Share of the lower tail, in (0, 1].
        eta: f64,
    },
    /// Wang(eta): beta(tau) = Phi(Phi^-1(tau) + eta); eta < 0 is risk-averse.
    Wang {
        /// Shift in normal scores.
        eta: f64,
    },
    /// Cumulative probability weighting: beta(tau) = tau^eta / (tau^eta + (1 - tau)^eta)^(1/eta).
    Cpw {
        /// Curvature, > 0 (0.71 in Dabney et al.).
        eta: f64,
    },
    /// Pow(eta): tau^(1/(1+|eta|)) for eta >= 0 (risk-seeking); 1 - (1 - tau)^(1/(1+|eta|)) for
    /// eta < 0 (risk-averse).
    Pow {
        /// Strength and direction.
        eta: f64,
    },
}

impl Distortion {
    /// Checks the parameter range.
    pub fn check(&self) -> Result<(), String> {
        let range = match *self {
            Distortion::Neutral => return Ok(()),
            Distortion::Cvar { .. } => Range::above(0.0, 1.0),
            Distortion::Wang { .. } | Distortion::Pow { .. } => Range::closed(-10.0, 10.0),
            Distortion::Cpw { .. } => Range::above(0.0, 10.0),
        };
        let (Distortion::Cvar { eta }
        | Distortion::Wang { eta }
        | Distortion::Pow { eta }
        | Distortion::Cpw { eta }) = *self
        else {
            return Ok(());
        };
        range.check("eta", eta).map(drop).map_err(|e| e.to_string())
    }

    /// The distorted fraction beta(tau), for tau in [0, 1].
    pub fn apply(&self, tau: f64) -> f64 {
        let t = tau.clamp(0.0, 1.0);
        match *self {
            Distortion::Neutral => t,
            Distortion::Cvar { eta } => eta * t,
            Distortion::Wang { eta } => normal_cdf(normal_quantile(t) + eta),
            Distortion::Cpw { eta } => {
                let a = t.powf(eta);
                a / (a + (1.0 - t).powf(eta)).powf(1.0 / eta)
            }
            Distortion::Pow { eta } => {
                let e = 1.0 / (1.0 + eta.abs());
                if eta >= 0.0 {
                    t.powf(e)
                } else {
                    1.0 - (1.0 - t).powf(e)
                }
            }
        }
    }

    /// The distorted expectation E_{tau ~ U[0,1]}[Q(beta(tau))] of a discrete distribution,
    /// exactly: each value's weight is the measure of the taus that beta maps into its slice of
    /// cumulative probability (beta is non-decreasing, inverted by bisection).
    pub fn expectation(&self, d: &Discrete) -> f64 {
        let cum = d.cumulative();
        let mut prev = 0.0;
        let mut acc = 0.0;
        for (v, c) in d.values().iter().zip(&cum) {
            let hi = self.inverse(*c);
            acc += v * (hi - prev).max(0.0);
            prev = hi;
        }
        acc
    }

    /// sup{tau in [0,1] : beta(tau) <= u}, by bisection (beta is non-decreasing).
    fn inverse(&self, u: f64) -> f64 {
        if u >= 1.0 - 1e-15 {
            return 1.0;
        }
        if self.apply(1.0) <= u {
            return 1.0;
        }
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if self.apply(mid) <= u {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
