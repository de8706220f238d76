//! Quantile-regression DQN (Dabney, Rowland, Bellemare & Munos 2018): each action's return
//! distribution is N quantiles at the fixed midpoint fractions, learnt with the quantile-Huber
//! loss.

use crate::config::{Algo, TrainConfig};
use crate::replay::Batch;
use crate::value::{masked_argmax, quantile_scores, CriticSettings, QNet, ValueAgent};
use imbarb_nn::loss::{quantile_huber, Taus};
use imbarb_nn::Checkpoint;
use imbarb_risk::Discrete;
use rand_chacha::ChaCha8Rng;

/// A quantile distributional agent.
#[derive(Debug, Clone)]
pub struct QrDqn {
    net: QNet,
    actions: usize,
    /// Fractions, loss threshold, risk measure and training rules from the config.
    c: CriticSettings,
    double: bool,
}

impl QrDqn {
    /// A fresh agent for observations of `obs_width`.
    pub fn new(config: &TrainConfig, obs_width: usize) -> imbarb_nn::Result<QrDqn> {
        let actions = config.n_actions();
        let n = config.distribution.quantiles;
        Ok(QrDqn {
            net: QNet::new(config, obs_width, actions * n, config.seed)?,
            actions,
            c: CriticSettings::new(config, n),
            double: config.network.double,
        })
    }

    /// Per-row, per-action scores of quantile outputs laid out `rows x actions x n`.
    fn scores_of(&self, values: &[f32], rows: usize, out: &mut Vec<f64>) {
        let len = rows * self.actions * self.c.taus.len();
        quantile_scores(&self.c.measure, &self.c.taus_f64, &values[..len], out);
    }
}

impl ValueAgent for QrDqn {
    fn algo(&self) -> Algo {
        Algo::QrDqn
    }

    fn n_actions(&self) -> usize {
        self.actions
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let values = self
            .net
            .online
            .forward(obs, batch, &mut self.net.cache2)
            .to_vec();
        self.scores_of(&values, batch, out);
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let n = self.c.taus.len();
        let values = self
            .net
            .online
            .forward(obs, 1, &mut self.net.cache2)
            .to_vec();
        values
            .chunks(n)
            .map(|c| {
                let eur: Vec<f64> = c.iter().map(|&x| x as f64 / self.c.scale as f64).collect();
                Discrete::quantiles(&self.c.taus_f64, &eur).expect("finite quantiles")
            })
            .collect()
    }

    /// QR-DQN (Dabney et al. 2018a, Algorithm 1): a* = argmax of the risk measure of the target
    /// quantiles at s' (of the online quantiles with `double`); T theta_j = r + gamma^n theta_j(s', a*); loss = the quantile-Huber loss
    /// (eq. 10) between theta_i(s, a) at tau_i = (2i + 1) / 2N and the N target samples.
    fn update(&mut self, b: &Batch, _rng: &mut ChaCha8Rng) -> f32 {
        let (rows, a, n) = (b.size, self.actions, self.c.taus.len());
        let next = self
            .net
            .target
            .forward(&b.next_obs, rows, &mut self.net.target_cache)
            .to_vec();
        // Double (van Hasselt et al. 2016): the online network picks a*, the target evaluates it.
        let mut scores = vec![];
        if self.double {
            let online = self
                .net
                .online
                .forward(&b.next_obs, rows, &mut self.net.cache2)
                .to_vec();
            self.scores_of(&online, rows, &mut scores);
        } else {
            self.scores_of(&next, rows, &mut scores);
        }
        let mut target = vec![0.0f32; rows * n];
        for r in 0..rows {
            let best = masked_argmax(
                &scores[r * a..(r + 1) * a],
                &b.next_masks[r * a..(r + 1) * a],
            );
            let theta = &next[(r * a + best) * n..(r * a + best + 1) * n];
            for (t, q) in target[r * n..(r + 1) * n].iter_mut().zip(theta) {
                *t = b.rewards[r] + b.discounts[r] * q;
            }
        }
        let pred = self
            .net
            .online
            .forward_selected(&b.obs, rows, n, &b.actions, &mut self.net.cache)
            .to_vec();
        let mut g = vec![0.0f32; rows * n];
        let loss = quantile_huber(
            &pred,
            n,
            Taus::Shared(&self.c.taus),
            &target,
            n,
            self.c.kappa,
            None,
            &mut g,
            None,
        );
        self.net.grads.fill(0.0);
        self.net
            .online
            .backward(&mut self.net.cache, &g, &mut self.net.grads, None);
        self.net.apply(self.c.grad_clip, self.c.target_rule);
        loss
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.net.adam.config.lr = lr;
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.save(ck, "z", training_state)
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.load(ck, "z", training_state)
    }
}
