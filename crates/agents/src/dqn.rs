//! Double DQN (van Hasselt et al. 2016) with an optional dueling head (Wang et al. 2016).

use crate::config::{Algo, TargetUpdate, TrainConfig};
use crate::replay::Batch;
use crate::value::{masked_argmax, QNet, ValueAgent};
use imbarb_nn::Checkpoint;
use imbarb_risk::Discrete;
use rand_chacha::ChaCha8Rng;

/// A Q-network agent.
#[derive(Debug, Clone)]
pub struct Dqn {
    net: QNet,
    actions: usize,
    dueling: bool,
    double: bool,
    grad_clip: f32,
    target_rule: TargetUpdate,
    scale: f32,
    q_next: Vec<f32>,
    q: Vec<f32>,
    d_out: Vec<f32>,
}

impl Dqn {
    /// A fresh agent for observations of `obs_width`.
    pub fn new(config: &TrainConfig, obs_width: usize) -> imbarb_nn::Result<Dqn> {
        let actions = config.n_actions();
        let dueling = config.network.dueling;
        let out = if dueling { actions + 1 } else { actions };
        Ok(Dqn {
            net: QNet::new(config, obs_width, out, config.seed)?,
            actions,
            dueling,
            double: config.network.double,
            grad_clip: config.training.grad_clip,
            target_rule: config.training.target,
            scale: config.training.reward_scale,
            q_next: vec![],
            q: vec![],
            d_out: vec![],
        })
    }

    /// Q-values (`batch x actions`) from raw outputs: the dueling head combines
    /// Q = V + A - mean(A) (Wang et al. 2016, eq. 9).
    fn q_values(&self, raw: &[f32], batch: usize, out: &mut Vec<f32>) {
        let a = self.actions;
        out.clear();
        if !self.dueling {
            out.extend_from_slice(&raw[..batch * a]);
            return;
        }
        for r in raw.chunks(a + 1).take(batch) {
            let (v, adv) = (r[0], &r[1..]);
            let mean = adv.iter().sum::<f32>() / a as f32;
            out.extend(adv.iter().map(|x| v + x - mean));
        }
    }
}

impl ValueAgent for Dqn {
    fn algo(&self) -> Algo {
        Algo::Dqn
    }

    fn n_actions(&self) -> usize {
        self.actions
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let raw = self
            .net
            .online
            .forward(obs, batch, &mut self.net.cache2)
            .to_vec();
        let mut q = vec![];
        self.q_values(&raw, batch, &mut q);
        out.clear();
        out.extend(q.iter().map(|&x| x as f64));
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let mut s = vec![];
        self.scores(obs, 1, &mut s);
        s.iter()
            .map(|&q| Discrete::samples(&[q / self.scale as f64]).expect("finite Q"))
            .collect()
    }

    /// Double DQN: y = r + gamma^n * Q_target(s', argmax_a' Q_online(s', a')), Huber loss on
    /// Q_online(s, a) - y (van Hasselt et al. 2016, eq. 4).
    fn update(&mut self, b: &Batch, _rng: &mut ChaCha8Rng) -> f32 {
        let (n, a) = (b.size, self.actions);
        // Targets.
        let raw_t = self
            .net
            .target
            .forward(&b.next_obs, n, &mut self.net.target_cache)
            .to_vec();
        let mut q_t = std::mem::take(&mut self.q_next);
        self.q_values(&raw_t, n, &mut q_t);
        let selector = if self.double {
            let raw_o = self
                .net
                .online
                .forward(&b.next_obs, n, &mut self.net.cache2)
                .to_vec();
            let mut q_o = vec![];
            self.q_values(&raw_o, n, &mut q_o);
            q_o
        } else {
            q_t.clone()
        };
        let y: Vec<f32> = (0..n)
            .map(|r| {
                let s: Vec<f64> = selector[r * a..(r + 1) * a]
                    .iter()
                    .map(|&x| x as f64)
                    .collect();
                let best = masked_argmax(&s, &b.next_masks[r * a..(r + 1) * a]);
                b.rewards[r] + b.discounts[r] * q_t[r * a + best]
            })
            .collect();
        self.q_next = q_t;
        // Prediction and loss.
        let raw = self
            .net
            .online
            .forward(&b.obs, n, &mut self.net.cache)
            .to_vec();
        let mut q = std::mem::take(&mut self.q);
        self.q_values(&raw, n, &mut q);
        let pred: Vec<f32> = (0..n).map(|r| q[r * a + b.actions[r]]).collect();
        let mut g = vec![0.0f32; n];
        let loss = imbarb_nn::loss::huber(&pred, &y, 1.0, &mut g);
        self.q = q;
        // d loss / d raw outputs: only the taken action's Q has a gradient.
        let width = if self.dueling { a + 1 } else { a };
        self.d_out.clear();
        self.d_out.resize(n * width, 0.0);
        for r in 0..n {
            let row = &mut self.d_out[r * width..(r + 1) * width];
            if self.dueling {
                // Q_a = V + A_a - mean(A): dV = g, dA_j = g * (1{j = a} - 1/A).
                row[0] = g[r];
                for (j, d) in row[1..].iter_mut().enumerate() {
                    *d = g[r] * ((j == b.actions[r]) as u8 as f32 - 1.0 / a as f32);
                }
            } else {
                row[b.actions[r]] = g[r];
            }
        }
        self.net.grads.fill(0.0);
        let d_out = std::mem::take(&mut self.d_out);
        self.net
            .online
            .backward(&mut self.net.cache, &d_out, &mut self.net.grads, None);
        self.d_out = d_out;
        self.net.apply(self.grad_clip, self.target_rule);
        loss
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.net.adam.config.lr = lr;
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.save(ck, "q", training_state)
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.net.load(ck, "q", training_state)
    }
}
