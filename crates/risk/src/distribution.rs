//! Return distributions. Quantile, categorical and sample representations all become a
//! `Discrete` distribution: values sorted ascending with probabilities, on which risk measures are
//! computed exactly.

/// A discrete distribution: ascending values with probabilities summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Discrete {
    values: Vec<f64>,
    probs: Vec<f64>,
}

impl Discrete {
    /// From values and non-negative weights (normalised; sorted here). `None` when empty, when a
    /// value is not finite, or when weights are negative or sum to 0.
    pub fn new(values: &[f64], weights: &[f64]) -> Option<Discrete> {
        if values.is_empty() || values.len() != weights.len() {
            return None;
        }
        let bad_weight = |w: &f64| w.is_nan() || *w < 0.0;
        if values.iter().any(|v| !v.is_finite()) || weights.iter().any(bad_weight) {
            return None;
        }
        let total: f64 = weights.iter().sum();
        if total.is_nan() || total <= 0.0 || !total.is_finite() {
            return None;
        }
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        Some(Discrete {
            values: order.iter().map(|&i| values[i]).collect(),
            probs: order.iter().map(|&i| weights[i] / total).collect(),
        })
    }

    /// Equally likely samples (also QR-DQN's quantiles at the midpoints (2i + 1) / 2N, each of which
    /// stands for a 1/N slice of probability). Unordered quantile estimates are sorted, which is
    /// the monotone rearrangement of the quantile function.
    pub fn samples(values: &[f64]) -> Option<Discrete> {
        Discrete::new(values, &vec![1.0; values.len()])
    }

    /// Quantile estimates at arbitrary fractions `taus` (IQN, sampled-fraction DSAC): each value
    /// holds the probability between the midpoints to its neighbouring fractions (0 and 1 at the
    /// ends), i.e. a piecewise-constant quantile function.
    pub fn quantiles(taus: &[f64], values: &[f64]) -> Option<Discrete> {
        if taus.len() != values.len() || taus.is_empty() {
            return None;
        }
        if taus.iter().any(|t| !(0.0..=1.0).contains(t)) {
            return None;
        }
        let mut order: Vec<usize> = (0..taus.len()).collect();
        order.sort_by(|&a, &b| taus[a].total_cmp(&taus[b]));
        let t: Vec<f64> = order.iter().map(|&i| taus[i]).collect();
        let v: Vec<f64> = order.iter().map(|&i| values[i]).collect();
        let n = t.len();
        let weights: Vec<f64> = (0..n)
            .map(|i| {
                let lo = if i == 0 { 0.0 } else { 0.5 * (t[i - 1] + t[i]) };
                let hi = if i + 1 == n {
                    1.0
                } else {
                    0.5 * (t[i] + t[i + 1])
                };
                hi - lo
            })
            .collect();
        Discrete::new(&v, &weights)
    }

    /// C51's categorical distribution: probabilities on fixed atoms.
    pub fn categorical(atoms: &[f64], probs: &[f64]) -> Option<Discrete> {
        Discrete::new(atoms, probs)
    }

    /// Values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Probabilities matching `values`.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// Expected value.
    pub fn mean(&self) -> f64 {
        self.values
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| v * p)
            .sum()
    }

    /// Standard deviation.
    pub fn std(&self) -> f64 {
        let m = self.mean();
        self.values
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| p * (v - m) * (v - m))
            .sum::<f64>()
            .sqrt()
    }

    /// The lower `u`-quantile: the smallest value whose cumulative probability reaches `u`.
    pub fn quantile(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let mut cum = 0.0;
        for (v, p) in self.values.iter().zip(&self.probs) {
            cum += p;
            if cum >= u - 1e-12 {
                return *v;
            }
        }
        self.values[self.values.len() - 1]
    }

    /// Integral of the quantile function over [0, u] (exact: partial atoms included).
    pub fn lower_integral(&self, u: f64) -> f64 {
        let mut left = u.clamp(0.0, 1.0);
        let mut acc = 0.0;
        for (v, p) in self.values.iter().zip(&self.probs) {
            let take = p.min(left);
            acc += take * v;
            left -= take;
            if left <= 0.0 {
                break;
            }
        }
        acc
    }

    /// Cumulative probabilities at the end of each value.
    pub fn cumulative(&self) -> Vec<f64> {
        let mut c = 0.0;
        self.probs
            .iter()
            .map(|p| {
                c += p;
                c
            })
            .collect()
    }
}
