//! Categorical DQN, C51 (Bellemare, Dabney & Munos 2017): each action's return distribution is a
//! softmax over fixed atoms; targets are the Bellman-shifted target distribution projected back
//! onto the atoms.

use crate::config::{Algo, TargetUpdate, TrainConfig};
use crate::replay::Batch;
use crate::value::{categorical_score, masked_argmax, QNet, ValueAgent};
use imbarb_nn::Checkpoint;
use imbarb_risk::{Discrete, RiskMeasure};
use rand_chacha::ChaCha8Rng;

/// Projects the distribution with probabilities `probs` on atoms `reward + discount * z_j` onto
/// the evenly spaced `atoms` (Bellemare et al. 2017, Algorithm 1): each shifted atom's mass is
/// split between its two neighbours in proportion to closeness; atoms outside the support are
/// clamped to its ends. Adds into `out` (zero it first).
pub fn project(atoms: &[f64], probs: &[f32], reward: f64, discount: f64, out: &mut [f32]) {
    let n = atoms.len();
    let (v_min, v_max) = (atoms[0], atoms[n - 1]);
    let dz = (v_max - v_min) / (n - 1) as f64;
    for (z, &p) in atoms.iter().zip(probs) {
        let tz = (reward + discount * z).clamp(v_min, v_max);
        let pos = (tz - v_min) / dz;
        let lo = (pos.floor() as usize).min(n - 1);
        let hi = (pos.ceil() as usize).min(n - 1);
        if lo == hi {
            out[lo] += p;
        } else {
            out[lo] += p * (hi as f64 - pos) as f32;
            out[hi] += p * (pos - lo as f64) as f32;
        }
    }
}

/// A categorical distributional agent.
#[derive(Debug, Clone)]
pub struct C51 {
    net: QNet,
    actions: usize,
    /// Atoms in scaled reward units.
    atoms: Vec<f64>,
    measure: RiskMeasure,
    grad_clip: f32,
    target_rule: TargetUpdate,
    scale: f32,
}

impl C51 {
    /// A fresh agent whose support spans `support_eur` (EUR, scaled inside).
    pub fn new(
        config: &TrainConfig,
        obs_width: usize,
        support_eur: (f64, f64),
    ) -> imbarb_nn::Result<C51> {
        let actions = config.n_actions();
        let k = config.distribution.atoms;
        let scale = config.training.reward_scale as f64;
        let (lo, hi) = (support_eur.0 * scale, support_eur.1 * scale);
        let atoms = (0..k)
            .map(|j| lo + (hi - lo) * j as f64 / (k - 1) as f64)
            .collect();
        Ok(C51 {
            net: QNet::new(config, obs_width, actions * k, config.seed)?,
            actions,
            atoms,
            measure: config.risk,
            grad_clip: config.training.grad_clip,
            target_rule: config.training.target,
            scale: config.training.reward_scale,
        })
    }

    /// Atoms in EUR.
    pub fn atoms_eur(&self) -> Vec<f64> {
        self.atoms.iter().map(|z| z / self.scale as f64).collect()
    }

    /// Softmax probabilities `rows x actions x atoms` and each row's per-action scores.
    fn probs_and_scores(&self, logits: &[f32], rows: usize, scores: &mut Vec<f64>) -> Vec<f32> {
        let k = self.atoms.len();
        let mut p = vec![0.0f32; logits.len()];
        imbarb_nn::loss::softmax(logits, k, &mut p);
        scores.clear();
        for chunk in p.chunks(k).take(rows * self.actions) {
            let pr: Vec<f64> = chunk.iter().map(|&x| x as f64).collect();
            scores.push(categorical_score(&self.measure, &self.atoms, &pr));
        }
        p
    }
}

impl ValueAgent for C51 {
    fn algo(&self) -> Algo {
        Algo::C51
    }

    fn n_actions(&self) -> usize {
        self.actions
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let logits = self
            .net
            .online
            .forward(obs, batch, &mut self.net.cache2)
            .to_vec();
        self.probs_and_scores(&logits, batch, out);
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let k = self.atoms.len();
        let logits = self
            .net
            .online
            .forward(obs, 1, &mut self.net.cache2)
            .to_vec();
        let mut s = vec![];
        let p = self.probs_and_scores(&logits, 1, &mut s);
        let atoms = self.atoms_eur();
        p.chunks(k)
            .map(|c| {
                let pr: Vec<f64> = c.iter().map(|&x| x as f64).collect();
                Discrete::categorical(&atoms, &pr).expect("softmax probabilities")
            })
            .collect()
    }

    /// C51 (Bellemare et al. 2017, Algorithm 1): a* = argmax of the risk measure of the target
    /// distribution at s'; m = Phi(r + gamma^n z, p_target(s', a*)); loss = -sum_j m_j log p_j(s, a)
    /// (eq. 7).
    fn update(&mut self, b: &Batch, _rng: &mut ChaCha8Rng) -> f32 {
        let (n, a, k) = (b.size, self.actions, self.atoms.len());
        let logits_t = self
            .net
            .target
            .forward(&b.next_obs, n, &mut self.net.target_cache)
            .to_vec();
        let mut scores = vec![];
        let p_t = self.probs_and_scores(&logits_t, n, &mut scores);
        let mut m = vec![0.0f32; n * k];
        for r in 0..n {
            let best = masked_argmax(
                &scores[r * a..(r + 1) * a],
                &b.next_masks[r * a..(r + 1) * a],
            );
            let probs = &p_t[(r * a + best) * k..(r * a + best + 1) * k];
            project(
                &self.atoms,
                probs,
                b.rewards[r] as f64,
                b.discounts[r] as f64,
                &mut m[r * k..(r + 1) * k],
            );
        }
        let logits = self
            .net
            .online
            .forward_selected(&b.obs, n, k, &b.actions, &mut self.net.cache)
            .to_vec();
        let mut g = vec![0.0f32; n * k];
        let loss = imbarb_nn::loss::categorical_cross_entropy(&logits, k, &m, None, &mut g, None);
        self.net.grads.fill(0.0);
        self.net
            .online
            .backward(&mut self.net.cache, &g, &mut self.net.grads, None);
        self.net.apply(self.grad_clip, self.target_rule);
        loss
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.net.adam.config.lr = lr;
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.save(ck, "z", training_state)?;
        let atoms: Vec<f32> = self.atoms.iter().map(|&z| z as f32).collect();
        ck.put("z.atoms_scaled", vec![atoms.len()], &atoms)
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.load(ck, "z", training_state)?;
        let stored = ck.get("z.atoms_scaled")?;
        if stored.len() != self.atoms.len() {
            return Err(imbarb_nn::NnError::Shape(
                "checkpoint support has a different number of atoms".into(),
            ));
        }
        // The support is part of the model: restore it exactly as trained.
        self.atoms = stored.iter().map(|&z| z as f64).collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_by_hand() {
        // Atoms -1, 0, 1. Shift by r = 0.5, gamma = 1: 0 -> 0.5 splits half/half, -1 -> -0.5,
        // 1 -> 1.5 clamps to 1.
        let atoms = [-1.0, 0.0, 1.0];
        let mut out = [0.0f32; 3];
        project(&atoms, &[0.2, 0.5, 0.3], 0.5, 1.0, &mut out);
        let expected = [0.1, 0.1 + 0.25, 0.25 + 0.3];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-6, "{out:?}");
        }
        // Exactly on an atom: all mass stays.
        let mut out = [0.0f32; 3];
        project(&atoms, &[0.0, 1.0, 0.0], 1.0, 0.9, &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0]);
    }

    /// Brute force: the projection preserves mass and, for targets inside the support, the mean;
    /// and matches the definition Phi(Tz)_i = sum_j [1 - |clamp(Tz_j) - z_i| / dz]_0^1 p_j.
    #[test]
    fn projection_matches_the_definition() {
        let atoms: Vec<f64> = (0..11).map(|j| -5.0 + j as f64).collect();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..200 {
            let raw: Vec<f64> = (0..11).map(|_| next()).collect();
            let total: f64 = raw.iter().sum();
            let probs: Vec<f32> = raw.iter().map(|x| (x / total) as f32).collect();
            let r = next() * 6.0 - 3.0;
            let d = next();
            let mut out = vec![0.0f32; 11];
            project(&atoms, &probs, r, d, &mut out);
            for (i, zi) in atoms.iter().enumerate() {
                let brute: f64 = atoms
                    .iter()
                    .zip(&probs)
                    .map(|(zj, &p)| {
                        let tz = (r + d * zj).clamp(-5.0, 5.0);
                        (1.0 - (tz - zi).abs()).clamp(0.0, 1.0) * p as f64
                    })
                    .sum();
                assert!((out[i] as f64 - brute).abs() < 1e-5, "atom {i}");
            }
            let mass: f32 = out.iter().sum();
            assert!((mass - 1.0).abs() < 1e-5);
        }
    }
}
