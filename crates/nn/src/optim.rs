//! Optimisation: Adam / AdamW with bias correction, gradient-norm clipping, and target-network
//! updates (Polyak averaging and hard copies). All work on flat parameter buffers.

use serde::{Deserialize, Serialize};

/// Adam hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator stabiliser.
    pub eps: f32,
    /// Decoupled weight decay (AdamW, Loshchilov & Hutter); 0 gives plain Adam.
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam state for one flat parameter buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Hyper-parameters.
    pub config: AdamConfig,
    /// Steps taken.
    pub step: u64,
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
}

impl Adam {
    /// Fresh state for `n` parameters.
    pub fn new(config: AdamConfig, n: usize) -> Adam {
        Adam {
            config,
            step: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// One update (Kingma & Ba, Algorithm 1, with AdamW's decoupled decay):
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p.
    pub fn update(&mut self, params: &mut [f32], grads: &[f32]) {
        assert!(
            params.len() == self.m.len() && grads.len() == self.m.len(),
            "Adam: sizes"
        );
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2 = 1.0 - c.beta2.powi(t);
        let step_size = c.lr / bc1;
        let inv_sqrt_bc2 = 1.0 / bc2.sqrt();
        let decay = c.lr * c.weight_decay;
        for i in 0..params.len() {
            let g = grads[i];
            let m = c.beta1 * self.m[i] + (1.0 - c.beta1) * g;
            let v = c.beta2 * self.v[i] + (1.0 - c.beta2) * g * g;
            self.m[i] = m;
            self.v[i] = v;
            let p = params[i];
            params[i] = p - step_size * m / (v.sqrt() * inv_sqrt_bc2 + c.eps) - decay * p;
        }
    }
}

/// Scales `grads` so their global L2 norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f32 {
    let norm = grads
        .iter()
        .map(|g| f64::from(*g) * f64::from(*g))
        .sum::<f64>()
        .sqrt() as f32;
    if norm > max_norm && norm > 0.0 {
        let s = max_norm / norm;
        grads.iter_mut().for_each(|g| *g *= s);
    }
    norm
}

/// Polyak averaging: target = tau * source + (1 - tau) * target.
pub fn polyak_update(target: &mut [f32], source: &[f32], tau: f32) {
    assert_eq!(target.len(), source.len(), "polyak_update: sizes");
    for (t, s) in target.iter_mut().zip(source) {
        *t += tau * (s - *t);
    }
}

/// Hard update: target = source.
pub fn hard_update(target: &mut [f32], source: &[f32]) {
    target.copy_from_slice(source);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_steps_by_hand() {
        // With bias correction, Adam's first step is lr * sign(g) (up to eps).
        let mut p = vec![1.0f32, -2.0];
        let mut adam = Adam::new(
            AdamConfig {
                lr: 0.1,
                ..Default::default()
            },
            2,
        );
        adam.update(&mut p, &[0.5, -3.0]);
        assert!(
            (p[0] - 0.9).abs() < 1e-6 && (p[1] + 1.9).abs() < 1e-6,
            "{p:?}"
        );
        // Second step with g = 0.25 on p[0]: m = 0.9*0.05 + 0.1*0.25 = 0.07, v = 0.999*0.00025
        // + 0.001*0.0625 = 0.00031225; m_hat = 0.07/0.19, v_hat = 0.00031225/0.001999.
        adam.update(&mut p, &[0.25, 0.0]);
        let m_hat = 0.07f64 / 0.19;
        let v_hat = 0.000_312_25f64 / (1.0 - 0.999f64.powi(2));
        let want = 0.9 - 0.1 * m_hat / (v_hat.sqrt() + 1e-8);
        assert!((f64::from(p[0]) - want).abs() < 1e-5, "{} vs {want}", p[0]);
    }

    #[test]
    fn adamw_decays_weights_without_gradient() {
        let mut p = vec![2.0f32];
        let mut adam = Adam::new(
            AdamConfig {
                lr: 0.1,
                weight_decay: 0.5,
                ..Default::default()
            },
            1,
        );
        adam.update(&mut p, &[0.0]);
        assert!((p[0] - (2.0 - 0.1 * 0.5 * 2.0)).abs() < 1e-6);
    }

    #[test]
    fn clipping_and_target_updates() {
        let mut g = vec![3.0f32, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
        let mut g2 = vec![0.3f32, 0.4];
        clip_grad_norm(&mut g2, 1.0);
        assert_eq!(g2, vec![0.3, 0.4]);
        let mut t = vec![0.0f32, 10.0];
        polyak_update(&mut t, &[1.0, 0.0], 0.1);
        assert!((t[0] - 0.1).abs() < 1e-6 && (t[1] - 9.0).abs() < 1e-6);
        hard_update(&mut t, &[5.0, 6.0]);
        assert_eq!(t, vec![5.0, 6.0]);
    }
}
