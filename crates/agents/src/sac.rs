//! Soft actor-critic for discrete actions (Christodoulou 2019) and its distributional variant
//! DSAC (Ma et al. 2020; the paper's best method), in one agent: twin critics with target copies,
//! a categorical policy over the allowed actions, an entropy temperature tuned toward a target
//! entropy, and (DSAC) an actor that maximises the chosen imbarb-risk measure of the critics'
//! return distribution, by default the paper's mean + beta VaR_0.1.
//!
//! SAC's critics output one Q-value per action; DSAC's output `distribution.quantiles` quantiles
//! per action at the midpoint fractions, learnt with the quantile-Huber loss.

use crate::config::{Algo, SacConfig, SacGreedy, TrainConfig, TwinCombine};
use crate::replay::Batch;
use crate::value::{quantile_scores, CriticSettings, QNet, ValueAgent};
use imbarb_nn::loss::{quantile_huber, Taus};
use imbarb_nn::{Adam, AdamConfig, Checkpoint};
use imbarb_risk::Discrete;
use imbarb_sim::Action;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A discrete soft actor-critic (SAC or DSAC).
#[derive(Debug, Clone)]
pub struct Sac {
    algo: Algo,
    /// Critics, policy (logits per action) and temperature.
    nets: ActorCritic,
    actions: usize,
    /// Quantiles per action (1: SAC's scalar critic).
    n: usize,
    /// Fractions, loss threshold, risk measure and training rules from the config.
    c: CriticSettings,
    target_entropy_ratio: f64,
    greedy: SacGreedy,
    twin: TwinCombine,
}

/// The policy over allowed actions from one row of logits: `probs` sums to 1 over the allowed
/// actions and is exactly 0 on masked ones, whose `logp` is set to 0 (so that pi log pi
/// vanishes there). An empty mask allows everything; a mask allowing nothing falls back to all.
pub fn masked_policy(logits: &[f32], mask: &[bool], probs: &mut [f32], logp: &mut [f32]) {
    let allowed = |a: usize| mask.is_empty() || mask.get(a).copied().unwrap_or(false);
    let any = (0..logits.len()).any(allowed);
    let ok = |a: usize| !any || allowed(a);
    let max = (0..logits.len())
        .filter(|&a| ok(a))
        .map(|a| logits[a])
        .fold(f32::NEG_INFINITY, f32::max);
    let lse = max
        + (0..logits.len())
            .filter(|&a| ok(a))
            .map(|a| (logits[a] - max).exp())
            .sum::<f32>()
            .ln();
    for a in 0..logits.len() {
        if ok(a) {
            logp[a] = logits[a] - lse;
            probs[a] = logp[a].exp();
        } else {
            logp[a] = 0.0;
            probs[a] = 0.0;
        }
    }
}

/// Gradient of one row's actor loss J = sum_a pi_a (alpha log pi_a - v_a) with respect to the
/// logits (Christodoulou 2019, eq. 12, with v the critics' value, or DSAC's risk score, of each
/// action): dJ/dl_b = pi_b (g_b - sum_a pi_a g_a), g_a = alpha log pi_a - v_a (the softmax
/// Jacobian; the constant from d(pi log pi) cancels). Masked actions (pi = 0) get 0. Returns J.
pub fn actor_loss_gradient(
    probs: &[f32],
    logp: &[f32],
    values: &[f32],
    alpha: f32,
    d_logits: &mut [f32],
) -> f32 {
    let g = |a: usize| alpha * logp[a] - values[a];
    let mean_g: f32 = (0..probs.len()).map(|a| probs[a] * g(a)).sum();
    for (b, d) in d_logits.iter_mut().enumerate() {
        *d = probs[b] * (g(b) - mean_g);
    }
    mean_g
}

/// SAC's soft state value of one row: V(s') = sum_a pi(a) (q_a - alpha log pi(a))
/// (Christodoulou 2019, eq. 10); masked actions (pi = 0) do not count.
pub fn soft_value(probs: &[f32], logp: &[f32], q: &[f32], alpha: f32) -> f32 {
    (0..probs.len())
        .filter(|&a| probs[a] > 0.0)
        .map(|a| probs[a] * (q[a] - alpha * logp[a]))
        .sum()
}

/// The quantile-Huber loss of `pred` (`rows x n` quantiles at `taus`) against, per row, the
/// mixture over actions x with weights `weights` (`rows x actions`) of the target samples
/// `targets` (`rows x actions x n`). The loss averages over target samples, so the mixture's
/// loss is exactly sum_x w_x x the loss against x's samples; each action's part is computed with
/// per-row weights and the gradients add up in `grad`. Returns the loss.
pub fn mixture_quantile_huber(
    pred: &[f32],
    taus: &[f32],
    kappa: f32,
    targets: &[f32],
    weights: &[f32],
    grad: &mut [f32],
) -> f32 {
    let n = taus.len();
    let rows = pred.len() / n;
    let actions = weights.len() / rows.max(1);
    grad.fill(0.0);
    let mut part = vec![0.0f32; pred.len()];
    let mut w = vec![0.0f32; rows];
    let mut t = vec![0.0f32; rows * n];
    let mut loss = 0.0f32;
    for x in 0..actions {
        for r in 0..rows {
            w[r] = weights[r * actions + x];
            t[r * n..(r + 1) * n]
                .copy_from_slice(&targets[(r * actions + x) * n..(r * actions + x + 1) * n]);
        }
        if w.iter().all(|&v| v == 0.0) {
            continue;
        }
        loss += quantile_huber(
            pred,
            n,
            Taus::Shared(taus),
            &t,
            n,
            kappa,
            Some(&w),
            &mut part,
            None,
        );
        for (g, p) in grad.iter_mut().zip(&part) {
            *g += p;
        }
    }
    loss
}

/// Entropy (nats) of one row's policy.
pub fn entropy(probs: &[f32], logp: &[f32]) -> f32 {
    -probs.iter().zip(logp).map(|(p, l)| p * l).sum::<f32>()
}

/// The entropy temperature alpha, learnt on log alpha with its own Adam (or fixed): shared by
/// the discrete and continuous actor-critics.
#[derive(Debug, Clone)]
pub struct Temperature {
    log_alpha: f32,
    adam: Adam,
    auto: bool,
}

impl Temperature {
    /// The `[sac]` settings' initial temperature and tuning.
    pub fn new(s: &SacConfig) -> Temperature {
        Temperature {
            log_alpha: s.initial_alpha.ln(),
            adam: Adam::new(
                AdamConfig {
                    lr: s.alpha_lr,
                    ..AdamConfig::default()
                },
                1,
            ),
            auto: s.auto_alpha,
        }
    }

    /// alpha (scaled reward units per nat).
    pub fn alpha(&self) -> f32 {
        self.log_alpha.exp()
    }

    /// One step on log alpha with gradient `entropy - target entropy` (batch mean): alpha falls
    /// while the policy is more random than asked and rises when it is less (Haarnoja et al.
    /// 2018b, eq. 18). Nothing happens when alpha is fixed.
    pub fn update(&mut self, entropy_excess: f32) {
        if self.auto {
            let mut p = [self.log_alpha];
            self.adam.update(&mut p, &[entropy_excess]);
            self.log_alpha = p[0];
        }
    }

    /// Stores log alpha (and, with `training_state`, its optimiser).
    pub fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        ck.put("alpha.log", vec![1], &[self.log_alpha])?;
        if training_state {
            ck.put_adam("alpha.adam", &self.adam)?;
        }
        Ok(())
    }

    /// Restores what `save` stored.
    pub fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.log_alpha = match ck.get("alpha.log")? {
            [x] => *x,
            other => {
                return Err(imbarb_nn::NnError::Shape(format!(
                    "alpha.log holds {} values, expected 1",
                    other.len()
                )))
            }
        };
        if training_state {
            self.adam = ck.adam("alpha.adam")?;
        }
        Ok(())
    }
}

/// What every soft actor-critic holds and saves: twin critics with target copies, the policy
/// network (its target copy is unused) and the temperature.
#[derive(Debug, Clone)]
pub struct ActorCritic {
    /// Twin critics.
    pub critics: [QNet; 2],
    /// The policy network.
    pub actor: QNet,
    /// Entropy temperature.
    pub temperature: Temperature,
    /// Actor learning rate as a multiple of the critics'.
    pub actor_lr_scale: f32,
    /// Mean policy entropy (nats) of the last update's batch.
    pub last_entropy: f64,
}

impl ActorCritic {
    /// Sets the critics' learning rate and the actor's (scaled).
    pub fn set_learning_rate(&mut self, lr: f32) {
        for c in &mut self.critics {
            c.adam.config.lr = lr;
        }
        self.actor.adam.config.lr = lr * self.actor_lr_scale;
    }

    /// Temperature and policy entropy, for the metrics and the progress bar.
    pub fn diagnostics(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("alpha", self.temperature.alpha() as f64),
            ("policy_entropy", self.last_entropy),
        ]
    }

    /// Stores critics, actor and temperature (with `training_state`: targets, optimisers).
    pub fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.critics[0].save(ck, "q1", training_state)?;
        self.critics[1].save(ck, "q2", training_state)?;
        self.actor.save(ck, "pi", training_state)?;
        self.temperature.save(ck, training_state)?;
        if training_state {
            ck.set_meta("sac.last_entropy", self.last_entropy.to_string());
        }
        Ok(())
    }

    /// Restores what `save` stored.
    pub fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.critics[0].load(ck, "q1", training_state)?;
        self.critics[1].load(ck, "q2", training_state)?;
        self.actor.load(ck, "pi", training_state)?;
        self.temperature.load(ck, training_state)?;
        if training_state {
            self.last_entropy = ck
                .meta("sac.last_entropy")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
        }
        Ok(())
    }
}

impl Sac {
    /// A fresh agent for observations of `obs_width`.
    pub fn new(config: &TrainConfig, obs_width: usize) -> imbarb_nn::Result<Sac> {
        let actions = config.n_actions();
        let n = match config.algo {
            Algo::Dsac => config.distribution.quantiles,
            _ => 1,
        };
        let s = &config.sac;
        let critic =
            |k: u64| QNet::new(config, obs_width, actions * n, config.seed.wrapping_add(k));
        Ok(Sac {
            algo: config.algo,
            nets: ActorCritic {
                critics: [critic(0)?, critic(1)?],
                actor: QNet::new(config, obs_width, actions, config.seed.wrapping_add(2))?,
                temperature: Temperature::new(s),
                actor_lr_scale: s.actor_lr_scale,
                last_entropy: 0.0,
            },
            actions,
            n,
            c: CriticSettings::new(config, n),
            target_entropy_ratio: s.target_entropy_ratio,
            greedy: s.greedy,
            twin: s.twin,
        })
    }

    /// The entropy temperature (scaled reward units per nat).
    pub fn alpha(&self) -> f32 {
        self.nets.temperature.alpha()
    }

    /// The policy's probabilities at one observation (`mask` empty: all actions allowed).
    pub fn policy_probabilities(&mut self, obs: &[f32], mask: &[bool]) -> Vec<f32> {
        self.policy(obs, mask, 1, false).0
    }

    /// The online critics at `rows` observations (`rows x actions x n`) combined quantile-wise by
    /// `[sac] twin` (for n = 1, SAC's min of two Q-values by default); forward caches that no
    /// backward pass needs.
    fn online_twins(&mut self, obs: &[f32], rows: usize) -> Vec<f32> {
        let twin = self.twin;
        let [c0, c1] = &mut self.nets.critics;
        let z0 = c0.online.forward(obs, rows, &mut c0.cache2).to_vec();
        twin.combine(&z0, c1.online.forward(obs, rows, &mut c1.cache2))
    }

    /// Per-action values the actor maximises, from the combined twin critics' outputs for `rows`
    /// rows: the risk measure of each action's quantiles (SAC: the Q-value).
    fn action_values(&self, z: &[f32], rows: usize) -> Vec<f32> {
        let z = &z[..rows * self.actions * self.n];
        if self.n == 1 {
            return z.to_vec();
        }
        let mut scores = vec![];
        quantile_scores(&self.c.measure, &self.c.taus_f64, z, &mut scores);
        scores.iter().map(|&v| v as f32).collect()
    }

    /// The policy of `rows` observations: probabilities and log-probabilities, `rows x actions`.
    /// `for_backward` keeps the forward pass in the cache the actor's backward pass reads.
    fn policy(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        rows: usize,
        for_backward: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let a = self.actions;
        let cache = if for_backward {
            &mut self.nets.actor.cache
        } else {
            &mut self.nets.actor.cache2
        };
        let logits = self.nets.actor.online.forward(obs, rows, cache);
        let (mut probs, mut logp) = (vec![0.0f32; rows * a], vec![0.0f32; rows * a]);
        for r in 0..rows {
            let mask = if masks.is_empty() {
                &[][..]
            } else {
                &masks[r * a..(r + 1) * a]
            };
            masked_policy(
                &logits[r * a..(r + 1) * a],
                mask,
                &mut probs[r * a..(r + 1) * a],
                &mut logp[r * a..(r + 1) * a],
            );
        }
        (probs, logp)
    }

    /// The critics' step. SAC: y = r + gamma^n sum_a' pi(a'|s') (min_k Q'_k(s', a') - alpha
    /// log pi(a'|s')), Huber loss on Q_k(s, a) - y (Christodoulou 2019, eqs. 10-11).
    /// DSAC: the target is the mixture over a' ~ pi(.|s') of the distributions
    /// r + gamma^n (min_k Z'_k(s', a') - alpha log pi(a'|s')) (Ma et al. 2020, eq. 9;
    /// `[sac] twin = "mean"` averages the twins instead of the min); as the quantile-Huber loss is
    /// an expectation over target samples, the mixture's loss is exactly sum_a' pi(a'|s') x the
    /// loss against a''s quantiles, computed per a' with per-row weights.
    fn update_critics(&mut self, b: &Batch, alpha: f32) -> f32 {
        let (rows, a, n) = (b.size, self.actions, self.n);
        let (next_p, next_logp) = self.policy(&b.next_obs, &b.next_masks, rows, false);
        let [c0, c1] = &mut self.nets.critics;
        let t0 = c0
            .target
            .forward(&b.next_obs, rows, &mut c0.target_cache)
            .to_vec();
        let t1 = c1.target.forward(&b.next_obs, rows, &mut c1.target_cache);
        let next_z = self.twin.combine(&t0, t1);
        let mut loss = 0.0f32;
        let mut g = vec![0.0f32; rows * n];
        // SAC: one soft target per row.
        let target: Vec<f32> = if n == 1 {
            (0..rows)
                .map(|r| {
                    let row = r * a..(r + 1) * a;
                    let v = soft_value(
                        &next_p[row.clone()],
                        &next_logp[row.clone()],
                        &next_z[row],
                        alpha,
                    );
                    b.rewards[r] + b.discounts[r] * v
                })
                .collect()
        } else {
            vec![]
        };
        // DSAC: per row and next action a', the target samples r + gamma^n (z_j - alpha log pi).
        let mut targets = vec![];
        if n > 1 {
            targets.resize(rows * a * n, 0.0f32);
            for r in 0..rows {
                for x in 0..a {
                    let k = r * a + x;
                    let bonus = alpha * next_logp[k];
                    for (t, q) in targets[k * n..(k + 1) * n]
                        .iter_mut()
                        .zip(&next_z[k * n..(k + 1) * n])
                    {
                        *t = b.rewards[r] + b.discounts[r] * (q - bonus);
                    }
                }
            }
        }
        for critic in &mut self.nets.critics {
            let pred = critic
                .online
                .forward_selected(&b.obs, rows, n, &b.actions, &mut critic.cache)
                .to_vec();
            if n == 1 {
                loss += imbarb_nn::loss::huber(&pred, &target, 1.0, &mut g);
            } else {
                loss += mixture_quantile_huber(
                    &pred,
                    &self.c.taus,
                    self.c.kappa,
                    &targets,
                    &next_p,
                    &mut g,
                );
            }
            critic.grads.fill(0.0);
            critic
                .online
                .backward(&mut critic.cache, &g, &mut critic.grads, None);
            critic.apply(self.c.grad_clip, self.c.target_rule);
        }
        loss / 2.0
    }

    /// The actor's step (eq. 12 of Christodoulou 2019; DSAC: with each action's risk score of the
    /// combined twin critic distribution in place of Q) and the temperature's: log alpha moves by
    /// mean(H(pi(.|s)) - H_target(s)) with H_target(s) = ratio x ln(allowed actions), so alpha
    /// falls while the policy is more random than asked and rises when it is less (Haarnoja et
    /// al. 2018b, eq. 18, in expectation over the discrete policy).
    fn update_actor(&mut self, b: &Batch, alpha: f32) {
        let (rows, a) = (b.size, self.actions);
        let z = self.online_twins(&b.obs, rows);
        let values = self.action_values(&z, rows);
        let masks = b.masks.as_slice();
        let (probs, logp) = self.policy(&b.obs, masks, rows, true);
        let mut d_logits = vec![0.0f32; rows * a];
        let mut alpha_grad = 0.0f64;
        let mut entropy_sum = 0.0f64;
        for r in 0..rows {
            let row = r * a..(r + 1) * a;
            actor_loss_gradient(
                &probs[row.clone()],
                &logp[row.clone()],
                &values[row.clone()],
                alpha,
                &mut d_logits[row.clone()],
            );
            let h = entropy(&probs[row.clone()], &logp[row.clone()]) as f64;
            let allowed = if masks.is_empty() {
                a
            } else {
                masks[row].iter().filter(|&&m| m).count()
            };
            let h_target = self.target_entropy_ratio * (allowed.max(1) as f64).ln();
            alpha_grad += h - h_target;
            entropy_sum += h;
        }
        let inv = 1.0 / rows as f32;
        d_logits.iter_mut().for_each(|d| *d *= inv);
        let actor = &mut self.nets.actor;
        actor.grads.fill(0.0);
        actor
            .online
            .backward(&mut actor.cache, &d_logits, &mut actor.grads, None);
        if self.c.grad_clip > 0.0 {
            imbarb_nn::clip_grad_norm(&mut actor.grads, self.c.grad_clip);
        }
        actor.adam.update(actor.online.params_mut(), &actor.grads);
        actor.updates += 1;
        self.nets.last_entropy = entropy_sum / rows as f64;
        self.nets
            .temperature
            .update((alpha_grad / rows as f64) as f32);
    }
}

impl ValueAgent for Sac {
    fn algo(&self) -> Algo {
        self.algo
    }

    fn n_actions(&self) -> usize {
        self.actions
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        out.clear();
        match self.greedy {
            SacGreedy::Policy => {
                let logits =
                    self.nets
                        .actor
                        .online
                        .forward(obs, batch, &mut self.nets.actor.cache2);
                out.extend(logits.iter().map(|&l| l as f64));
            }
            SacGreedy::Critic => {
                let z = self.online_twins(obs, batch);
                out.extend(self.action_values(&z, batch).iter().map(|&v| v as f64));
            }
        }
    }

    fn explore(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        batch: usize,
        rng: &mut ChaCha8Rng,
        out: &mut [Action],
    ) -> bool {
        let a = self.actions;
        let (probs, _) = self.policy(obs, masks, batch, false);
        for (r, action) in out.iter_mut().enumerate().take(batch) {
            let p = &probs[r * a..(r + 1) * a];
            let u: f32 = rng.gen();
            let mut acc = 0.0f32;
            // The last allowed action absorbs rounding (cumulative sums may end below u) and
            // stands in if the probabilities are not finite (a diverged actor never acts masked).
            let allowed = |x: usize| masks.is_empty() || masks[r * a + x];
            let last = (0..a).rev().find(|&x| allowed(x)).unwrap_or(0);
            *action = Action::Discrete(
                (0..a)
                    .find(|&x| {
                        acc += p[x];
                        p[x] > 0.0 && u < acc
                    })
                    .unwrap_or(last),
            );
        }
        true
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let z = self.online_twins(obs, 1);
        let inv = 1.0 / self.c.scale as f64;
        z.chunks(self.n)
            .map(|c| {
                let eur: Vec<f64> = c.iter().map(|&x| x as f64 * inv).collect();
                Discrete::quantiles(&self.c.taus_f64, &eur).expect("finite critic outputs")
            })
            .collect()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.nets.set_learning_rate(lr);
    }

    /// Critics, then actor and temperature, on the same batch (Haarnoja et al. 2018b,
    /// Algorithm 1); the critics' targets follow by `training.target`. Returns the critic loss.
    fn update(&mut self, b: &Batch, _rng: &mut ChaCha8Rng) -> f32 {
        let alpha = self.alpha();
        let loss = self.update_critics(b, alpha);
        self.update_actor(b, alpha);
        loss
    }

    fn diagnostics(&self) -> Vec<(&'static str, f64)> {
        self.nets.diagnostics()
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.nets.save(ck, training_state)
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.nets.load(ck, training_state)
    }
}

#[cfg(test)]
#[path = "sac_tests.rs"]
mod tests;
