//! Risk measures of a return distribution Z, used to rank actions ("greedy" = argmax of the chosen
//! measure) and to report risk.

use crate::distortion::Distortion;
use crate::distribution::Discrete;
use imbarb_util::range::Range;
use serde::{Deserialize, Serialize};

/// A risk measure (higher is better for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RiskMeasure {
    /// E[Z]: risk-neutral.
    Mean,
    /// VaR_alpha(Z): the lower alpha-quantile.
    Var {
        /// Tail level, in (0, 1).
        alpha: f64,
    },
    /// CVaR_alpha(Z): the mean of the worst alpha share of outcomes.
    Cvar {
        /// Tail level, in (0, 1].
        alpha: f64,
    },
    /// The paper's objective: E[Z] + beta * VaR_alpha(Z) (beta = 0 neutral, 3 risk-averse).
    MeanPlusVar {
        /// Tail level.
        alpha: f64,
        /// Weight of the tail.
        beta: f64,
    },
    /// E[Z] + beta * CVaR_alpha(Z).
    MeanPlusCvar {
        /// Tail level.
        alpha: f64,
        /// Weight of the tail.
        beta: f64,
    },
    /// E[Z] - lambda * std(Z).
    MeanMinusStd {
        /// Weight of the spread.
        lambda: f64,
    },
    /// A distortion risk measure (IQN): E_tau[Q(beta(tau))].
    Distorted(Distortion),
}

impl RiskMeasure {
    /// Checks parameter ranges.
    pub fn check(&self) -> Result<(), String> {
        let alpha = Range::above(0.0, 1.0);
        let weight = Range::closed(0.0, 1_000.0);
        let checked = match *self {
            RiskMeasure::Mean => Ok(()),
            RiskMeasure::Var { alpha: a } | RiskMeasure::Cvar { alpha: a } => {
                alpha.check("alpha", a).map(drop)
            }
            RiskMeasure::MeanPlusVar { alpha: a, beta }
            | RiskMeasure::MeanPlusCvar { alpha: a, beta } => alpha
                .check("alpha", a)
                .and_then(|_| weight.check("beta", beta))
                .map(drop),
            RiskMeasure::MeanMinusStd { lambda } => weight.check("lambda", lambda).map(drop),
            RiskMeasure::Distorted(d) => return d.check(),
        };
        checked.map_err(|e| e.to_string())
    }

    /// Evaluates the measure on a distribution.
    pub fn evaluate(&self, d: &Discrete) -> f64 {
        match *self {
            RiskMeasure::Mean => d.mean(),
            RiskMeasure::Var { alpha } => var(d, alpha),
            RiskMeasure::Cvar { alpha } => cvar(d, alpha),
            RiskMeasure::MeanPlusVar { alpha, beta } => d.mean() + beta * var(d, alpha),
            RiskMeasure::MeanPlusCvar { alpha, beta } => d.mean() + beta * cvar(d, alpha),
            RiskMeasure::MeanMinusStd { lambda } => d.mean() - lambda * d.std(),
            RiskMeasure::Distorted(g) => g.expectation(d),
        }
    }

    /// Index of the best allowed action: the argmax of the measure over `dists` where `mask` is
    /// true (all allowed when `mask` is empty). Ties go to the lowest index. `None` when nothing
    /// is allowed.
    pub fn best_action(&self, dists: &[Discrete], mask: &[bool]) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, d) in dists.iter().enumerate() {
            if !mask.is_empty() && !mask.get(i).copied().unwrap_or(false) {
                continue;
            }
            let v = self.evaluate(d);
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
        best.map(|b| b.0)
    }
}

/// VaR_alpha and CVaR_alpha of equally likely samples, such as the daily P&L of a backtest:
/// the one definition every table, report and agent uses (see `var` and `cvar`). `None` when
/// there are no samples or one is not finite.
pub fn sample_var_cvar(samples: &[f64], alpha: f64) -> Option<(f64, f64)> {
    let d = Discrete::samples(samples)?;
    Some((var(&d, alpha), cvar(&d, alpha)))
}

/// Value at risk: the lower alpha-quantile, the smallest value whose cumulative probability
/// reaches alpha (for n daily P&L samples: the ceil(alpha n)-th worst day; no interpolation).
pub fn var(d: &Discrete, alpha: f64) -> f64 {
    d.quantile(alpha)
}

/// Conditional value at risk: (1 / alpha) * integral of the quantile function over [0, alpha],
/// the mean of the worst alpha share of outcomes with a partly counted boundary atom (for 75
/// daily samples at 10 %: the 7 worst days and half of the 8th, divided by 7.5). Coherent, and
/// never above VaR_alpha.
pub fn cvar(d: &Discrete, alpha: f64) -> f64 {
    d.lower_integral(alpha) / alpha
}
