//! Soft actor-critic over continuous power (Haarnoja et al. 2018) and its distributional, risk-
//! sensitive variant DSAC (Ma et al. 2020): the action is a fraction of rated power in [-1, 1]
//! (> 0 discharge) drawn from a tanh-squashed Gaussian; twin critics score (observation, action)
//! pairs, SAC with one Q-value, DSAC with `distribution.quantiles` quantiles; the actor climbs the
//! chosen imbarb-risk measure of the combined twin critics (`[sac] twin`, min by default)
//! through the critics' input gradient.
//!
//! There is no action mask: the simulator clips what the SoC or the cycle budget refuses and
//! reports the clipped power in the ledger, and the battery features tell the agent where it is.

use crate::config::{Algo, SacGreedy, TrainConfig, TwinCombine};
use crate::replay::Batch;
use crate::sac::{ActorCritic, Temperature};
use crate::value::{
    quantile_score_gradient, quantile_scores, rank_weights, CriticSettings, QNet, ValueAgent,
};
use imbarb_nn::loss::{quantile_huber, Taus};
use imbarb_nn::Checkpoint;
use imbarb_risk::Discrete;
use imbarb_sim::Action;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Candidate powers the critics score when the agent acts on them (`[sac] greedy = "critic"`).
pub const CRITIC_GRID: usize = 21;

/// Lowest log standard deviation of the pre-squash Gaussian.
pub const LOG_STD_MIN: f32 = -5.0;
/// Highest log standard deviation of the pre-squash Gaussian.
pub const LOG_STD_MAX: f32 = 1.0;

/// The log standard deviation from the actor's raw output, squashed smoothly into
/// [LOG_STD_MIN, LOG_STD_MAX] so that its gradient never vanishes abruptly.
pub fn log_std(raw: f32) -> f32 {
    LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (raw.tanh() + 1.0)
}

/// ln(1 - tanh(u)^2) = 2 (ln 2 - u - softplus(-2u)), exact and stable for large |u| (where
/// 1 - tanh^2 rounds to 0 in f32).
pub fn log_one_minus_tanh_sq(u: f32) -> f32 {
    let x = -2.0 * u;
    let softplus = x.max(0.0) + (-x.abs()).exp().ln_1p();
    2.0 * (std::f32::consts::LN_2 - u - softplus)
}

/// One reparameterised draw a = tanh(mu + sigma eps) of the squashed Gaussian with its log
/// density: log pi(a) = log N(u; mu, sigma) - ln(1 - tanh(u)^2) (Haarnoja et al. 2018,
/// appendix C).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquashedDraw {
    /// The action, tanh(u).
    pub action: f32,
    /// log pi(action).
    pub logp: f32,
    /// The pre-squash value u = mu + sigma eps.
    pub u: f32,
    /// sigma.
    pub sigma: f32,
}

/// Draws `a = tanh(mu + sigma eps)` with sigma = exp(log_std(raw)) for a given standard normal
/// `eps`.
pub fn squashed_draw(mu: f32, raw: f32, eps: f32) -> SquashedDraw {
    let ls = log_std(raw);
    let sigma = ls.exp();
    let u = mu + sigma * eps;
    let half_ln_2pi = 0.5 * (2.0 * std::f32::consts::PI).ln();
    SquashedDraw {
        action: u.tanh(),
        logp: -0.5 * eps * eps - ls - half_ln_2pi - log_one_minus_tanh_sq(u),
        u,
        sigma,
    }
}

/// Gradient of one row's actor loss J = alpha log pi(a) - S(a), a = tanh(mu + sigma eps) with
/// eps fixed (the reparameterisation), given the critic side's slope `ds_da` = dS/da. Returns
/// (dJ/dmu, dJ/draw). With a = tanh(u): d log pi/du = 2a (from the squash correction),
/// d log pi / d log sigma = -1 + 2a sigma eps, da/du = 1 - a^2.
pub fn actor_gradient(mu: f32, raw: f32, eps: f32, alpha: f32, ds_da: f32) -> (f32, f32) {
    let d = squashed_draw(mu, raw, eps);
    let a = d.action;
    let slope = ds_da * (1.0 - a * a);
    let d_mu = alpha * 2.0 * a - slope;
    let d_log_std = alpha * (-1.0 + 2.0 * a * d.sigma * eps) - slope * d.sigma * eps;
    let t = raw.tanh();
    let d_raw = d_log_std * 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (1.0 - t * t);
    (d_mu, d_raw)
}

/// A continuous-power soft actor-critic (SAC or DSAC).
#[derive(Debug, Clone)]
pub struct ContinuousSac {
    algo: Algo,
    /// Critics over (observation, action) and a policy with two outputs per row: the mean and
    /// the raw log standard deviation of the pre-squash Gaussian.
    nets: ActorCritic,
    obs_width: usize,
    /// Quantiles per critic (1: SAC's scalar critic).
    n: usize,
    /// Fractions, loss threshold, risk measure and training rules from the config.
    c: CriticSettings,
    /// The risk measure's weight per quantile rank (see `quantile_score_gradient`).
    rank_weights: Vec<f64>,
    target_entropy: f64,
    greedy: SacGreedy,
    twin: TwinCombine,
}

/// `obs` rows (`width` wide) with one action appended to each: the critics' input.
fn with_actions(obs: &[f32], width: usize, actions: &[f32]) -> Vec<f32> {
    let mut x = Vec::with_capacity(obs.len() + actions.len());
    for (row, a) in obs.chunks_exact(width).zip(actions) {
        x.extend_from_slice(row);
        x.push(*a);
    }
    x
}

impl ContinuousSac {
    /// A fresh agent for observations of `obs_width`.
    pub fn new(config: &TrainConfig, obs_width: usize) -> imbarb_nn::Result<ContinuousSac> {
        let n = match config.algo {
            Algo::Dsac => config.distribution.quantiles,
            _ => 1,
        };
        let c = CriticSettings::new(config, n);
        let s = &config.sac;
        let critic = |k: u64| QNet::new(config, obs_width + 1, n, config.seed.wrapping_add(k));
        Ok(ContinuousSac {
            algo: config.algo,
            nets: ActorCritic {
                critics: [critic(0)?, critic(1)?],
                actor: QNet::new(config, obs_width, 2, config.seed.wrapping_add(2))?,
                temperature: Temperature::new(s),
                actor_lr_scale: s.actor_lr_scale,
                last_entropy: 0.0,
            },
            obs_width,
            n,
            rank_weights: rank_weights(&config.risk, &c.taus_f64),
            c,
            target_entropy: s.continuous_target_entropy,
            greedy: s.greedy,
            twin: s.twin,
        })
    }

    /// The entropy temperature (scaled reward units per nat).
    pub fn alpha(&self) -> f32 {
        self.nets.temperature.alpha()
    }

    /// The policy's (mean, raw log-std) per row, `rows x 2`; `for_backward` keeps the forward
    /// pass in the cache the actor's backward pass reads.
    fn policy(&mut self, obs: &[f32], rows: usize, for_backward: bool) -> Vec<f32> {
        let actor = &mut self.nets.actor;
        let cache = if for_backward {
            &mut actor.cache
        } else {
            &mut actor.cache2
        };
        actor.online.forward(obs, rows, cache).to_vec()
    }

    /// The greedy actions of `rows` observations: the policy's squashed mean tanh(mu), or with
    /// `[sac] greedy = "critic"` the power among `CRITIC_GRID` evenly spaced fractions whose
    /// combined twin critic distribution scores best on the risk measure.
    pub fn greedy_actions(&mut self, obs: &[f32], rows: usize) -> Vec<f32> {
        if self.greedy == SacGreedy::Policy {
            let out = self.policy(obs, rows, false);
            return out.chunks_exact(2).map(|p| p[0].tanh()).collect();
        }
        let k = CRITIC_GRID;
        let grid: Vec<f32> = (0..k)
            .map(|i| -1.0 + 2.0 * i as f32 / (k - 1) as f32)
            .collect();
        let w = self.obs_width;
        let repeated: Vec<f32> = obs
            .chunks_exact(w)
            .take(rows)
            .flat_map(|row| std::iter::repeat_n(row, k).flatten().copied())
            .collect();
        let actions: Vec<f32> = (0..rows).flat_map(|_| grid.iter().copied()).collect();
        let x = with_actions(&repeated, w, &actions);
        let z = self.online_twins(&x, rows * k).0;
        let mut scores = vec![];
        quantile_scores(&self.c.measure, &self.c.taus_f64, &z, &mut scores);
        scores
            .chunks_exact(k)
            .map(|s| grid[crate::value::masked_argmax(s, &[])])
            .collect()
    }

    /// Reparameterised draws for `rows` observations from the policy output `out` (`rows x 2`)
    /// with fresh standard normal noise from `rng`; returns the draws and their noise.
    fn draw(out: &[f32], rng: &mut ChaCha8Rng) -> (Vec<SquashedDraw>, Vec<f32>) {
        out.chunks_exact(2)
            .map(|p| {
                let eps: f32 = rng.sample(rand_distr::StandardNormal);
                (squashed_draw(p[0], p[1], eps), eps)
            })
            .unzip()
    }

    /// The two online critics at (obs, action) rows combined quantile-wise by `[sac] twin`, with
    /// each quantile's weight on the first critic (min: 1 where it gave the minimum, else 0;
    /// mean: 1/2), the second's being 1 minus it. The forward passes stay in the critics' main
    /// caches for a backward pass.
    fn online_twins(&mut self, x: &[f32], rows: usize) -> (Vec<f32>, Vec<f32>) {
        let twin = self.twin;
        let [c0, c1] = &mut self.nets.critics;
        let z0 = c0.online.forward(x, rows, &mut c0.cache).to_vec();
        let z1 = c1.online.forward(x, rows, &mut c1.cache);
        z0.iter()
            .zip(z1)
            .map(|(a, b)| twin.combine_one(*a, *b))
            .unzip()
    }

    /// The critics' step. SAC: y = r + gamma^n (min_k Q'_k(s', a') - alpha log pi(a'|s')) with
    /// a' ~ pi(.|s'), Huber loss on Q_k(s, a) - y (Haarnoja et al. 2018, eqs. 5-6). DSAC: the
    /// target quantiles r + gamma^n (min_k Z'_k(s', a')_j - alpha log pi(a'|s')), quantile-Huber
    /// loss (Ma et al. 2020, eq. 9).
    fn update_critics(&mut self, b: &Batch, alpha: f32, rng: &mut ChaCha8Rng) -> f32 {
        let (rows, n, w) = (b.size, self.n, self.obs_width);
        let next = self.policy(&b.next_obs, rows, false);
        let (draws, _) = Self::draw(&next, rng);
        let next_a: Vec<f32> = draws.iter().map(|d| d.action).collect();
        let next_x = with_actions(&b.next_obs, w, &next_a);
        let [c0, c1] = &mut self.nets.critics;
        let t0 = c0
            .target
            .forward(&next_x, rows, &mut c0.target_cache)
            .to_vec();
        let t1 = c1.target.forward(&next_x, rows, &mut c1.target_cache);
        let mut targets = self.twin.combine(&t0, t1);
        for (r, row) in targets.chunks_exact_mut(n).enumerate() {
            let bonus = alpha * draws[r].logp;
            for t in row {
                *t = b.rewards[r] + b.discounts[r] * (*t - bonus);
            }
        }
        let x = with_actions(&b.obs, w, &b.fractions);
        let mut g = vec![0.0f32; rows * n];
        let mut loss = 0.0f32;
        for critic in &mut self.nets.critics {
            let pred = critic.online.forward(&x, rows, &mut critic.cache).to_vec();
            loss += if n == 1 {
                imbarb_nn::loss::huber(&pred, &targets, 1.0, &mut g)
            } else {
                quantile_huber(
                    &pred,
                    n,
                    Taus::Shared(&self.c.taus),
                    &targets,
                    n,
                    self.c.kappa,
                    None,
                    &mut g,
                    None,
                )
            };
            critic.grads.fill(0.0);
            critic
                .online
                .backward(&mut critic.cache, &g, &mut critic.grads, None);
            critic.apply(self.c.grad_clip, self.c.target_rule);
        }
        loss / 2.0
    }

    /// The actor's step: minimise E[alpha log pi(a|s) - S(s, a)] over reparameterised draws,
    /// S the risk measure of the combined twin critic distribution at (s, a) (Haarnoja et al.
    /// 2018, eq. 7; DSAC: the risk score in place of Q). dS/da flows back through each critic by
    /// its weight in each quantile (min: whichever gave it). Then the temperature: log alpha
    /// moves by the batch's sampled entropy -log pi minus the target (eq. 18).
    fn update_actor(&mut self, b: &Batch, alpha: f32, rng: &mut ChaCha8Rng) {
        let (rows, n, w) = (b.size, self.n, self.obs_width);
        let out = self.policy(&b.obs, rows, true);
        let (draws, eps) = Self::draw(&out, rng);
        let actions: Vec<f32> = draws.iter().map(|d| d.action).collect();
        let x = with_actions(&b.obs, w, &actions);
        let (z, first_weight) = self.online_twins(&x, rows);
        // dS/dz per quantile, split between the critics by their weights in the combination.
        let mut d_z = vec![0.0f32; rows * n];
        for (zr, dr) in z.chunks_exact(n).zip(d_z.chunks_exact_mut(n)) {
            quantile_score_gradient(&self.c.measure, &self.rank_weights, zr, dr);
        }
        let mut ds_da = vec![0.0f32; rows];
        let mut d_input = vec![0.0f32; rows * (w + 1)];
        for (k, critic) in self.nets.critics.iter_mut().enumerate() {
            let mine: Vec<f32> = d_z
                .iter()
                .zip(&first_weight)
                .map(|(d, &w0)| d * if k == 0 { w0 } else { 1.0 - w0 })
                .collect();
            // The critics' parameter gradients are scratch here: their next step zeroes them.
            critic.grads.fill(0.0);
            critic.online.backward(
                &mut critic.cache,
                &mine,
                &mut critic.grads,
                Some(&mut d_input),
            );
            for (s, row) in ds_da.iter_mut().zip(d_input.chunks_exact(w + 1)) {
                *s += row[w];
            }
        }
        let inv = 1.0 / rows as f32;
        let mut d_out = vec![0.0f32; rows * 2];
        let mut entropy = 0.0f64;
        for r in 0..rows {
            let (d_mu, d_raw) = actor_gradient(out[2 * r], out[2 * r + 1], eps[r], alpha, ds_da[r]);
            d_out[2 * r] = d_mu * inv;
            d_out[2 * r + 1] = d_raw * inv;
            entropy -= draws[r].logp as f64;
        }
        let actor = &mut self.nets.actor;
        actor.grads.fill(0.0);
        actor
            .online
            .backward(&mut actor.cache, &d_out, &mut actor.grads, None);
        if self.c.grad_clip > 0.0 {
            imbarb_nn::clip_grad_norm(&mut actor.grads, self.c.grad_clip);
        }
        actor.adam.update(actor.online.params_mut(), &actor.grads);
        actor.updates += 1;
        let entropy = entropy / rows as f64;
        self.nets.last_entropy = entropy;
        self.nets
            .temperature
            .update((entropy - self.target_entropy) as f32);
    }

    /// The combined twin critic quantiles at the greedy action of each of `rows` observations.
    fn greedy_quantiles(&mut self, obs: &[f32], rows: usize) -> Vec<f32> {
        let actions = self.greedy_actions(obs, rows);
        let x = with_actions(obs, self.obs_width, &actions);
        self.online_twins(&x, rows).0
    }
}

impl ValueAgent for ContinuousSac {
    fn algo(&self) -> Algo {
        self.algo
    }

    fn n_actions(&self) -> usize {
        0
    }

    /// One score per row: the risk score of the critics' distribution at the greedy action.
    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let z = self.greedy_quantiles(obs, batch);
        quantile_scores(&self.c.measure, &self.c.taus_f64, &z, out);
    }

    /// The greedy action (see `greedy_actions`).
    fn act(&mut self, obs: &[f32], _masks: &[bool], batch: usize, out: &mut Vec<Action>) {
        let a = self.greedy_actions(obs, batch);
        out.clear();
        out.extend(a.iter().map(|&x| Action::Continuous(x as f64)));
    }

    fn explore(
        &mut self,
        obs: &[f32],
        _masks: &[bool],
        batch: usize,
        rng: &mut ChaCha8Rng,
        out: &mut [Action],
    ) -> bool {
        let p = self.policy(obs, batch, false);
        let (draws, _) = Self::draw(&p, rng);
        for (o, d) in out.iter_mut().zip(draws) {
            // A diverged actor (non-finite output) idles rather than sending NaN to the battery.
            let a = if d.action.is_finite() { d.action } else { 0.0 };
            *o = Action::Continuous(a as f64);
        }
        true
    }

    fn diagnostics(&self) -> Vec<(&'static str, f64)> {
        self.nets.diagnostics()
    }

    /// One distribution: the critics' at the greedy action.
    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let z = self.greedy_quantiles(obs, 1);
        let inv = 1.0 / self.c.scale as f64;
        let eur: Vec<f64> = z.iter().map(|&x| x as f64 * inv).collect();
        vec![Discrete::quantiles(&self.c.taus_f64, &eur).expect("finite critic outputs")]
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.nets.set_learning_rate(lr);
    }

    /// Critics, then actor and temperature, on the same batch (Haarnoja et al. 2018b,
    /// Algorithm 1). Returns the critic loss.
    fn update(&mut self, b: &Batch, rng: &mut ChaCha8Rng) -> f32 {
        let alpha = self.alpha();
        let loss = self.update_critics(b, alpha, rng);
        self.update_actor(b, alpha, rng);
        loss
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.nets.save(ck, training_state)
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.nets.load(ck, training_state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The twin critics combine by min (all weight on the critic that gave each quantile) or
    /// mean (half each); the weights are what the actor's gradient is split by.
    #[test]
    fn twin_critics_combine_with_their_gradient_weights() {
        use imbarb_sim::ActionSpace;
        let x = [0.3f32, -1.2, 0.5, 0.9, 0.1, -0.7];
        for twin in [TwinCombine::Min, TwinCombine::Mean] {
            let mut c = TrainConfig {
                algo: Algo::Dsac,
                ..TrainConfig::default()
            };
            c.env.actions = ActionSpace::Continuous;
            c.network.hidden = vec![8];
            c.distribution.quantiles = 4;
            c.sac.twin = twin;
            let mut sac = ContinuousSac::new(&c, 2).expect("agent");
            let [c0, c1] = &mut sac.nets.critics;
            let z0 = c0.online.forward(&x, 2, &mut c0.cache2).to_vec();
            let z1 = c1.online.forward(&x, 2, &mut c1.cache2).to_vec();
            let (z, w0) = sac.online_twins(&x, 2);
            assert_eq!(z.len(), 8);
            for k in 0..8 {
                let (want, weight) = match twin {
                    TwinCombine::Min if z1[k] < z0[k] => (z1[k], 0.0),
                    TwinCombine::Min => (z0[k], 1.0),
                    TwinCombine::Mean => (0.5 * (z0[k] + z1[k]), 0.5),
                };
                assert_eq!((z[k], w0[k]), (want, weight), "{twin:?} quantile {k}");
                // The combination's derivative by the first critic is its weight.
                let h = 1e-3f32;
                let bumped = match twin {
                    TwinCombine::Min => (z0[k] + h).min(z1[k]),
                    TwinCombine::Mean => 0.5 * (z0[k] + h + z1[k]),
                };
                if (z0[k] - z1[k]).abs() > 2.0 * h {
                    assert!(((bumped - z[k]) / h - weight).abs() < 1e-2, "{twin:?} {k}");
                }
            }
        }
    }

    /// log pi of the squashed Gaussian by the change of variables, checked against the density
    /// of a = tanh(u) estimated as (P(a < x + h) - P(a < x - h)) / 2h with the normal CDF.
    #[test]
    fn squashed_log_density_matches_the_change_of_variables() {
        let cdf = |x: f64| imbarb_risk::normal_cdf(x);
        for (mu, raw, eps) in [
            (0.3f32, -0.5f32, 0.7f32),
            (-1.2, 0.4, -1.1),
            (2.0, -2.0, 0.5),
        ] {
            let d = squashed_draw(mu, raw, eps);
            let sigma = log_std(raw).exp() as f64;
            let prob_below = |a: f64| cdf((a.atanh() - mu as f64) / sigma);
            let a = (d.u as f64).tanh();
            // A window well inside the density's width in a, sigma (1 - a^2).
            let h = 1e-3 * sigma * (1.0 - a * a);
            let density = (prob_below(a + h) - prob_below(a - h)) / (2.0 * h);
            assert!(
                (d.logp as f64 - density.ln()).abs() < 2e-3,
                "mu {mu} raw {raw} eps {eps}: {} vs {}",
                d.logp,
                density.ln()
            );
        }
        // Stable where 1 - tanh^2 underflows: ln(1 - tanh(12)^2) = ln(sech(12)^2) ~ -22.6.
        let want = 2.0 * (2.0 / (12f64.exp() + (-12f64).exp())).ln();
        assert!((log_one_minus_tanh_sq(12.0) as f64 - want).abs() < 1e-3);
        assert!((log_one_minus_tanh_sq(-12.0) as f64 - want).abs() < 1e-3);
    }

    /// The actor gradient against finite differences of J(mu, raw) = alpha log pi(a) - S(a) with
    /// S(a) = 2 sin(3a) and eps held fixed.
    #[test]
    fn actor_gradient_matches_finite_differences() {
        let s = |a: f32| 2.0 * (3.0 * a).sin();
        let ds = |a: f32| 6.0 * (3.0 * a).cos();
        let j = |mu: f32, raw: f32, eps: f32, alpha: f32| {
            let d = squashed_draw(mu, raw, eps);
            alpha * d.logp - s(d.action)
        };
        for (mu, raw, eps) in [
            (0.2f32, -0.3f32, 0.8f32),
            (-0.9, 0.6, -0.4),
            (0.05, -1.5, 1.7),
        ] {
            for alpha in [0.0f32, 0.1, 1.0] {
                let a = squashed_draw(mu, raw, eps).action;
                let (d_mu, d_raw) = actor_gradient(mu, raw, eps, alpha, ds(a));
                let h = 1e-3f32;
                let fd_mu = (j(mu + h, raw, eps, alpha) - j(mu - h, raw, eps, alpha)) / (2.0 * h);
                let fd_raw = (j(mu, raw + h, eps, alpha) - j(mu, raw - h, eps, alpha)) / (2.0 * h);
                assert!((d_mu - fd_mu).abs() < 1e-2, "mu: {d_mu} vs {fd_mu}");
                assert!((d_raw - fd_raw).abs() < 1e-2, "raw: {d_raw} vs {fd_raw}");
            }
        }
    }
}
