//! Implicit quantile networks (Dabney, Ostrovski, Silver & Munos 2018): the quantile function
//! Z_tau(s, a) = f(psi(s) * phi(tau))_a for any fraction tau, with psi the state network, phi the
//! cosine embedding and f a head; risk-sensitive acting through the configured measure, including
//! distortions (Distorted(...)), evaluated exactly on K evenly spaced fractions.

use crate::config::{Algo, FractionSampling, TargetUpdate, TrainConfig};
use crate::replay::Batch;
use crate::value::{check_same_shape, masked_argmax, quantile_score, sync_target, ValueAgent};
use imbarb_nn::embedding::EmbeddingCache;
use imbarb_nn::loss::{midpoint_taus, quantile_huber, Taus};
use imbarb_nn::{Adam, Checkpoint, CosineEmbedding, Mlp, MlpCache, MlpConfig};
use imbarb_risk::{Discrete, RiskMeasure};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// `n` fractions in (0, 1) for each of `rows` samples (`rows x n`), drawn as `sampling` says;
/// shared sampling draws `n` for the whole batch.
fn sample_fractions(
    rows: usize,
    n: usize,
    sampling: FractionSampling,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    match sampling {
        FractionSampling::Uniform => (0..rows * n).map(|_| rng.gen::<f32>()).collect(),
        FractionSampling::Stratified => (0..rows * n)
            .map(|j| ((j % n) as f32 + rng.gen::<f32>()) / n as f32)
            .collect(),
        FractionSampling::SharedStratified => (0..n)
            .map(|i| (i as f32 + rng.gen::<f32>()) / n as f32)
            .collect(),
    }
}

/// The three parts of an implicit quantile network.
#[derive(Debug, Clone)]
struct Parts {
    trunk: Mlp,
    embedding: CosineEmbedding,
    head: Mlp,
}

/// Activations kept for the backward pass.
#[derive(Debug, Clone, Default)]
struct Caches {
    trunk: MlpCache,
    embedding: EmbeddingCache,
    head: MlpCache,
    /// ReLU(trunk(s)), `rows x d`.
    psi: Vec<f32>,
    /// phi(tau), `rows * n x d`, or `n x d` when the fractions are shared by all rows.
    phi: Vec<f32>,
    /// Whether the last forward pass used shared fractions.
    phi_shared: bool,
    /// psi * phi, `rows * n x d`.
    h: Vec<f32>,
    /// Backward scratch: gradients w.r.t. h, psi and phi (kept to avoid reallocating).
    d_h: Vec<f32>,
    d_psi: Vec<f32>,
    d_phi: Vec<f32>,
}

/// Quantile fractions for a forward pass.
#[derive(Debug, Clone, Copy)]
enum Fractions<'a> {
    /// The same fractions for every row (the K-grid): embedded once and broadcast.
    Shared(&'a [f32]),
    /// `n` fractions per row (`rows x n`, sampled).
    PerRow(&'a [f32], usize),
}

impl Parts {
    /// Quantile values for `rows` observations at `n` fractions each: `rows * n x actions`, or
    /// `rows * n` for the per-row `selected` action.
    fn forward(
        &self,
        obs: &[f32],
        rows: usize,
        fractions: Fractions,
        selected: Option<&[usize]>,
        c: &mut Caches,
    ) -> Vec<f32> {
        let d = self.embedding.dim();
        c.psi.clear();
        c.psi.extend(
            self.trunk
                .forward(obs, rows, &mut c.trunk)
                .iter()
                .map(|x| x.max(0.0)),
        );
        let (n, shared) = match fractions {
            Fractions::Shared(t) => (t.len(), true),
            Fractions::PerRow(_, n) => (n, false),
        };
        c.phi.clear();
        c.phi_shared = shared;
        match fractions {
            Fractions::Shared(t) | Fractions::PerRow(t, _) => c
                .phi
                .extend_from_slice(self.embedding.forward(t, &mut c.embedding)),
        }
        c.h.resize(rows * n * d, 0.0);
        for r in 0..rows {
            let psi = &c.psi[r * d..(r + 1) * d];
            for i in 0..n {
                let at = (r * n + i) * d;
                let from = if shared { i * d } else { at };
                for ((h, p), s) in c.h[at..at + d]
                    .iter_mut()
                    .zip(&c.phi[from..from + d])
                    .zip(psi)
                {
                    *h = p * s;
                }
            }
        }
        match selected {
            None => self.head.forward(&c.h, rows * n, &mut c.head).to_vec(),
            Some(sel) => {
                let per_row: Vec<usize> = sel
                    .iter()
                    .flat_map(|&a| std::iter::repeat_n(a, n))
                    .collect();
                self.head
                    .forward_selected(&c.h, rows * n, 1, &per_row, &mut c.head)
                    .to_vec()
            }
        }
    }

    /// Adds parameter gradients for `d_out` (of the last `forward`) into the three buffers.
    fn backward(&self, c: &mut Caches, d_out: &[f32], n: usize, g: &mut Grads) {
        let d = self.embedding.dim();
        let rows = c.psi.len() / d;
        let shared = c.phi_shared;
        let mut d_h = std::mem::take(&mut c.d_h);
        let mut d_psi = std::mem::take(&mut c.d_psi);
        let mut d_phi = std::mem::take(&mut c.d_phi);
        d_h.resize(rows * n * d, 0.0);
        self.head
            .backward(&mut c.head, d_out, &mut g.head, Some(&mut d_h));
        d_psi.clear();
        d_psi.resize(rows * d, 0.0);
        // Shared fractions: phi's gradient sums over the rows that broadcast it.
        d_phi.clear();
        d_phi.resize(if shared { n * d } else { rows * n * d }, 0.0);
        for r in 0..rows {
            let psi = &c.psi[r * d..(r + 1) * d];
            let dp = &mut d_psi[r * d..(r + 1) * d];
            for i in 0..n {
                let at = (r * n + i) * d;
                let from = if shared { i * d } else { at };
                let (dh, phi) = (&d_h[at..at + d], &c.phi[from..from + d]);
                for j in 0..d {
                    dp[j] += dh[j] * phi[j];
                    d_phi[from + j] += dh[j] * psi[j];
                }
            }
            // ReLU on the trunk's output.
            imbarb_nn::relu_backward(psi, dp);
        }
        self.trunk
            .backward(&mut c.trunk, &d_psi, &mut g.trunk, None);
        self.embedding
            .backward(&c.embedding, &d_phi, &mut g.embedding);
        (c.d_h, c.d_psi, c.d_phi) = (d_h, d_psi, d_phi);
    }
}

/// Gradient buffers of the three parts.
#[derive(Debug, Clone)]
struct Grads {
    trunk: Vec<f32>,
    embedding: Vec<f32>,
    head: Vec<f32>,
}

/// An implicit quantile agent.
#[derive(Debug, Clone)]
pub struct Iqn {
    online: Parts,
    target: Parts,
    adam: [Adam; 3],
    grads: Grads,
    cache: Caches,
    /// The target action's choice and the target samples (same shape, one after the other).
    target_cache: Caches,
    /// Acting uses its own caches: alternating batch shapes with the update's would reallocate.
    act_cache: Caches,
    /// The online network chooses the target action (double DQN); else the target network.
    double: bool,
    actions: usize,
    n: usize,
    n_prime: usize,
    /// How the N and N' fractions of an update are drawn.
    sampling: FractionSampling,
    /// The K evenly spaced fractions used to act.
    grid: Vec<f32>,
    grid_f64: Vec<f64>,
    /// N' evenly spaced fractions on which the target action is chosen (cheaper than K).
    target_grid: Vec<f32>,
    target_grid_f64: Vec<f64>,
    kappa: f32,
    measure: RiskMeasure,
    grad_clip: f32,
    target_rule: TargetUpdate,
    scale: f32,
    updates: u64,
}

impl Iqn {
    /// A fresh agent for observations of `obs_width`.
    pub fn new(config: &TrainConfig, obs_width: usize) -> imbarb_nn::Result<Iqn> {
        let hidden = &config.network.hidden;
        let d = *hidden.last().expect("checked: hidden is not empty");
        let mut trunk_config = MlpConfig::relu(obs_width, &hidden[..hidden.len() - 1], d);
        trunk_config.layer_norm = config.network.layer_norm;
        trunk_config.init = config.network.init;
        let mut head_config =
            MlpConfig::relu(d, &config.network.iqn_head_hidden, config.n_actions());
        head_config.layer_norm = config.network.layer_norm;
        head_config.init = config.network.init;
        let online = Parts {
            trunk: Mlp::new(trunk_config, config.seed)?,
            embedding: CosineEmbedding::new(
                config.distribution.iqn_cosines,
                d,
                config.seed.wrapping_add(1),
            )?,
            head: Mlp::new(head_config, config.seed.wrapping_add(2))?,
        };
        let adam_config = crate::value::adam_config(config);
        let grads = Grads {
            trunk: online.trunk.zero_grads(),
            embedding: vec![0.0; online.embedding.params().len()],
            head: online.head.zero_grads(),
        };
        let grid = midpoint_taus(config.distribution.iqn_k);
        let target_grid = midpoint_taus(config.distribution.iqn_n_prime);
        Ok(Iqn {
            adam: [
                Adam::new(adam_config, grads.trunk.len()),
                Adam::new(adam_config, grads.embedding.len()),
                Adam::new(adam_config, grads.head.len()),
            ],
            grads,
            target: online.clone(),
            online,
            cache: Caches::default(),
            target_cache: Caches::default(),
            act_cache: Caches::default(),
            double: config.network.double,
            actions: config.n_actions(),
            n: config.distribution.iqn_n,
            n_prime: config.distribution.iqn_n_prime,
            sampling: config.distribution.iqn_fractions,
            grid_f64: grid.iter().map(|&t| t as f64).collect(),
            grid,
            target_grid_f64: target_grid.iter().map(|&t| t as f64).collect(),
            target_grid,
            kappa: config.distribution.kappa,
            measure: config.risk,
            grad_clip: config.training.grad_clip,
            target_rule: config.training.target,
            scale: config.training.reward_scale,
            updates: 0,
        })
    }

    /// Scores (`rows x actions`) from values at the fractions `grid` (`rows * grid x actions`).
    fn grid_scores(&self, values: &[f32], rows: usize, grid: &[f64], out: &mut Vec<f64>) {
        let (k, a) = (grid.len(), self.actions);
        out.clear();
        let mut v = vec![0.0f64; k];
        for r in 0..rows {
            for act in 0..a {
                for (i, o) in v.iter_mut().enumerate() {
                    *o = values[(r * k + i) * a + act] as f64;
                }
                out.push(quantile_score(&self.measure, grid, &v));
            }
        }
    }
}

impl ValueAgent for Iqn {
    fn algo(&self) -> Algo {
        Algo::Iqn
    }

    fn n_actions(&self) -> usize {
        self.actions
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let values = self.online.forward(
            obs,
            batch,
            Fractions::Shared(&self.grid),
            None,
            &mut self.act_cache,
        );
        self.grid_scores(&values, batch, &self.grid_f64, out);
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let k = self.grid.len();
        let values = self.online.forward(
            obs,
            1,
            Fractions::Shared(&self.grid),
            None,
            &mut self.act_cache,
        );
        (0..self.actions)
            .map(|act| {
                let v: Vec<f64> = (0..k)
                    .map(|i| values[i * self.actions + act] as f64 / self.scale as f64)
                    .collect();
                Discrete::quantiles(&self.grid_f64, &v).expect("finite quantiles")
            })
            .collect()
    }

    /// IQN (Dabney et al. 2018b, eqs. 3-4): a* = argmax of the risk measure of Z(s', .) on N'
    /// evenly spaced fractions (online network with `double`, else target); for N fractions
    /// tau_i and N' fractions tau'_j (uniform or stratified draws),
    /// delta_ij = r + gamma^n Z_tau'_j(s', a*) - Z_tau_i(s, a); loss = quantile-Huber over i, j.
    fn update(&mut self, b: &Batch, rng: &mut ChaCha8Rng) -> f32 {
        let (rows, a) = (b.size, self.actions);
        // Target action on the grid, chosen by the online network with `double` (van Hasselt et
        // al. 2016, as QR-DQN and DQN do), else by the target network (Dabney et al. 2018b).
        let selector = if self.double {
            &self.online
        } else {
            &self.target
        };
        let values = selector.forward(
            &b.next_obs,
            rows,
            Fractions::Shared(&self.target_grid),
            None,
            &mut self.target_cache,
        );
        let mut scores = vec![];
        self.grid_scores(&values, rows, &self.target_grid_f64, &mut scores);
        let best: Vec<usize> = (0..rows)
            .map(|r| {
                masked_argmax(
                    &scores[r * a..(r + 1) * a],
                    &b.next_masks[r * a..(r + 1) * a],
                )
            })
            .collect();
        // Target samples at sampled fractions.
        let shared = self.sampling.is_shared();
        let fractions = |t, n| {
            if shared {
                Fractions::Shared(t)
            } else {
                Fractions::PerRow(t, n)
            }
        };
        let tau_prime = sample_fractions(rows, self.n_prime, self.sampling, rng);
        let z_next = self.target.forward(
            &b.next_obs,
            rows,
            fractions(&tau_prime, self.n_prime),
            Some(&best),
            &mut self.target_cache,
        );
        let target: Vec<f32> = z_next
            .iter()
            .enumerate()
            .map(|(j, z)| {
                let r = j / self.n_prime;
                b.rewards[r] + b.discounts[r] * z
            })
            .collect();
        // Online quantiles of the taken action at sampled fractions.
        let taus = sample_fractions(rows, self.n, self.sampling, rng);
        let pred = self.online.forward(
            &b.obs,
            rows,
            fractions(&taus, self.n),
            Some(&b.actions),
            &mut self.cache,
        );
        let mut g = vec![0.0f32; rows * self.n];
        let loss = quantile_huber(
            &pred,
            self.n,
            if shared {
                Taus::Shared(&taus)
            } else {
                Taus::PerSample(&taus)
            },
            &target,
            self.n_prime,
            self.kappa,
            None,
            &mut g,
            None,
        );
        self.grads.trunk.fill(0.0);
        self.grads.embedding.fill(0.0);
        self.grads.head.fill(0.0);
        self.online
            .backward(&mut self.cache, &g, self.n, &mut self.grads);
        // One global gradient-norm clip over the three parts.
        if self.grad_clip > 0.0 {
            let sq: f64 = [&self.grads.trunk, &self.grads.embedding, &self.grads.head]
                .iter()
                .flat_map(|v| v.iter())
                .map(|&x| (x as f64) * (x as f64))
                .sum();
            let norm = sq.sqrt() as f32;
            if norm > self.grad_clip {
                let s = self.grad_clip / norm;
                for v in [
                    &mut self.grads.trunk,
                    &mut self.grads.embedding,
                    &mut self.grads.head,
                ] {
                    v.iter_mut().for_each(|x| *x *= s);
                }
            }
        }
        self.adam[0].update(self.online.trunk.params_mut(), &self.grads.trunk);
        self.adam[1].update(self.online.embedding.params_mut(), &self.grads.embedding);
        self.adam[2].update(self.online.head.params_mut(), &self.grads.head);
        self.updates += 1;
        let (u, rule) = (self.updates, self.target_rule);
        sync_target(
            self.target.trunk.params_mut(),
            self.online.trunk.params(),
            u,
            rule,
        );
        sync_target(
            self.target.embedding.params_mut(),
            self.online.embedding.params(),
            u,
            rule,
        );
        sync_target(
            self.target.head.params_mut(),
            self.online.head.params(),
            u,
            rule,
        );
        loss
    }

    fn set_learning_rate(&mut self, lr: f32) {
        for adam in &mut self.adam {
            adam.config.lr = lr;
        }
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        let put = |ck: &mut Checkpoint, which: &str, p: &Parts| -> imbarb_nn::Result<()> {
            ck.put_mlp(&format!("iqn.{which}.trunk"), &p.trunk)?;
            let e = p.embedding.params();
            ck.put(&format!("iqn.{which}.embedding"), vec![e.len()], e)?;
            ck.put_mlp(&format!("iqn.{which}.head"), &p.head)
        };
        put(ck, "online", &self.online)?;
        if training_state {
            put(ck, "target", &self.target)?;
            for (i, adam) in self.adam.iter().enumerate() {
                ck.put_adam(&format!("iqn.adam{i}"), adam)?;
            }
            ck.set_meta("iqn.updates", self.updates.to_string());
        }
        Ok(())
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        let get = |which: &str, into: &mut Parts| -> imbarb_nn::Result<()> {
            let trunk = ck.mlp(&format!("iqn.{which}.trunk"))?;
            check_same_shape(&trunk, &into.trunk, "iqn.trunk")?;
            let head = ck.mlp(&format!("iqn.{which}.head"))?;
            check_same_shape(&head, &into.head, "iqn.head")?;
            let e = ck.get(&format!("iqn.{which}.embedding"))?;
            if e.len() != into.embedding.params().len() {
                return Err(imbarb_nn::NnError::Shape(
                    "checkpoint cosine embedding has another size".into(),
                ));
            }
            into.embedding.params_mut().copy_from_slice(e);
            into.trunk = trunk;
            into.head = head;
            Ok(())
        };
        get("online", &mut self.online)?;
        if training_state {
            get("target", &mut self.target)?;
            for (i, adam) in self.adam.iter_mut().enumerate() {
                *adam = ck.adam(&format!("iqn.adam{i}"))?;
            }
            self.updates = ck
                .meta("iqn.updates")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        } else {
            self.target = self.online.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uniform_fractions_are_plain_draws_of_the_stream() {
        let mut a = ChaCha8Rng::seed_from_u64(3);
        let mut b = ChaCha8Rng::seed_from_u64(3);
        let drawn = sample_fractions(4, 5, FractionSampling::Uniform, &mut a);
        let plain: Vec<f32> = (0..20).map(|_| b.gen::<f32>()).collect();
        assert_eq!(drawn, plain);
    }

    #[test]
    fn stratified_fractions_put_one_draw_in_each_stratum_with_a_uniform_spread_inside() {
        let (rows, n) = (4000, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let taus = sample_fractions(rows, n, FractionSampling::Stratified, &mut rng);
        assert_eq!(taus.len(), rows * n);
        let mut offsets = vec![0.0f64; n];
        for row in taus.chunks_exact(n) {
            for (i, &t) in row.iter().enumerate() {
                let (lo, hi) = (i as f32 / n as f32, (i + 1) as f32 / n as f32);
                assert!((lo..=hi).contains(&t), "fraction {t} outside stratum {i}");
                offsets[i] += f64::from(t * n as f32 - i as f32) / rows as f64;
            }
        }
        // The position inside a stratum is U(0, 1): mean 1/2, standard error 0.0046 here.
        for (i, m) in offsets.iter().enumerate() {
            assert!((m - 0.5).abs() < 0.02, "stratum {i}: mean offset {m:.4}");
        }
    }

    #[test]
    fn shared_fractions_are_one_stratified_draw_for_the_batch() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let taus = sample_fractions(256, 32, FractionSampling::SharedStratified, &mut rng);
        assert_eq!(taus.len(), 32);
        for (i, &t) in taus.iter().enumerate() {
            assert!(
                (i as f32 / 32.0..=(i + 1) as f32 / 32.0).contains(&t),
                "{t} in {i}"
            );
        }
    }

    /// Broadcasting one set of fractions to every row must give the outputs and parameter
    /// gradients of handing each row its own copy of them (the per-row path).
    #[test]
    fn shared_fractions_match_per_row_copies_in_forward_and_backward() {
        let (obs_w, d, rows, n, actions) = (5, 16, 7, 4, 3);
        let parts = Parts {
            trunk: Mlp::new(MlpConfig::relu(obs_w, &[12], d), 1).unwrap(),
            embedding: CosineEmbedding::new(8, d, 2).unwrap(),
            head: Mlp::new(MlpConfig::relu(d, &[6], actions), 3).unwrap(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let obs: Vec<f32> = (0..rows * obs_w)
            .map(|_| rng.gen::<f32>() * 2.0 - 1.0)
            .collect();
        let taus = sample_fractions(rows, n, FractionSampling::SharedStratified, &mut rng);
        let copies: Vec<f32> = (0..rows).flat_map(|_| taus.iter().copied()).collect();
        let selected: Vec<usize> = (0..rows).map(|r| r % actions).collect();
        let d_out: Vec<f32> = (0..rows * n).map(|_| rng.gen::<f32>() - 0.5).collect();
        let run = |fractions: Fractions| {
            let mut c = Caches::default();
            let out = parts.forward(&obs, rows, fractions, Some(&selected), &mut c);
            let mut g = Grads {
                trunk: parts.trunk.zero_grads(),
                embedding: vec![0.0; parts.embedding.params().len()],
                head: parts.head.zero_grads(),
            };
            parts.backward(&mut c, &d_out, n, &mut g);
            (out, [g.trunk, g.embedding, g.head])
        };
        let (out_shared, g_shared) = run(Fractions::Shared(&taus));
        let (out_rows, g_rows) = run(Fractions::PerRow(&copies, n));
        assert_eq!(out_shared, out_rows);
        for (part, (s, r)) in g_shared.iter().zip(&g_rows).enumerate() {
            assert!(s.iter().any(|&v| v != 0.0), "part {part}: no gradient");
            for (x, y) in s.iter().zip(r) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                    "part {part}: {x} vs {y}"
                );
            }
        }
    }
}
