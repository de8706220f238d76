//! What every agent (value-based or actor-critic) offers the trainer and the policy wrapper, and
//! the machinery they share: a network with its target copy and optimiser, masked argmax, risk
//! scores of return distributions.

use crate::config::{Algo, TargetUpdate, TrainConfig};
use crate::replay::Batch;
use imbarb_nn::{hard_update, polyak_update, Adam, AdamConfig, Checkpoint, Mlp, MlpCache};
use imbarb_risk::{Discrete, RiskMeasure};
use imbarb_sim::Action;
use rand_chacha::ChaCha8Rng;

/// An agent the trainer can train and a policy can act with: value-based agents score discrete
/// actions with their risk measure; actor-critics act with their policy (discrete levels or, for
/// continuous SAC / DSAC, a power fraction).
pub trait ValueAgent: Send {
    /// Which algorithm.
    fn algo(&self) -> Algo;
    /// Number of discrete actions (0 for a continuous-action agent).
    fn n_actions(&self) -> usize;
    /// For `batch` observations (row-major), writes `batch x n_actions` scores: the acting risk
    /// measure of each action's return distribution (for DQN, its Q-value; for SAC / DSAC, the
    /// policy's logits). Greedy = masked argmax. A continuous agent writes one score per row:
    /// the risk score of its greedy action.
    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>);
    /// The greedy actions for `batch` observations with their masks (`batch x n_actions`), for
    /// validation and backtests: by default the masked argmax of `scores`.
    fn act(&mut self, obs: &[f32], masks: &[bool], batch: usize, out: &mut Vec<Action>) {
        greedy_act(self, obs, masks, batch, out);
    }
    /// Exploration actions for `batch` observations with their masks: a stochastic policy samples
    /// itself into `out` and returns true; value agents return false and the trainer explores
    /// epsilon-greedily.
    fn explore(
        &mut self,
        _obs: &[f32],
        _masks: &[bool],
        _batch: usize,
        _rng: &mut ChaCha8Rng,
        _out: &mut [Action],
    ) -> bool {
        false
    }
    /// Rewrites a replayed batch (actions and masks over power levels) into the agent's own
    /// action frame, before the learner adds observation noise: the residual agent counts its
    /// actions from the plan's move (`residual`); every other agent acts on levels and keeps it.
    fn frame_batch(&self, _batch: &mut Batch) {}
    /// Makes the agent act as its planner alone while `on` (a residual agent's candidate at its
    /// first validation, kept in its checkpoint when deployed); returns whether it has a planner
    /// to follow (false for every agent acting on levels, which ignore the call).
    fn follow_plan(&mut self, _on: bool) -> bool {
        false
    }
    /// Named learning diagnostics for the metrics (SAC: temperature and policy entropy).
    fn diagnostics(&self) -> Vec<(&'static str, f64)> {
        vec![]
    }
    /// Each action's return distribution for one observation, in EUR (DQN: a point mass).
    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete>;
    /// Sets the optimiser's learning rate (the trainer's schedule).
    fn set_learning_rate(&mut self, lr: f32);
    /// One gradient step on a batch; returns the loss. `rng` feeds sampled fractions (IQN).
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> f32;
    /// Stores the online network(s) and, with `training_state`, target networks and optimisers.
    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()>;
    /// Restores what `save` stored (shapes must match this agent's config).
    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()>;
}

/// The greedy actions of `agent` for `batch` observations with their masks: the masked argmax
/// of its scores (the default `act`, and what an agent overriding it falls back on).
pub fn greedy_act<A: ValueAgent + ?Sized>(
    agent: &mut A,
    obs: &[f32],
    masks: &[bool],
    batch: usize,
    out: &mut Vec<Action>,
) {
    let a = agent.n_actions();
    let mut scores = vec![];
    agent.scores(obs, batch, &mut scores);
    out.clear();
    out.extend((0..batch).map(|r| {
        let mask = masks.get(r * a..(r + 1) * a).unwrap_or(&[]);
        Action::Discrete(masked_argmax(&scores[r * a..(r + 1) * a], mask))
    }));
}

/// Index of the highest score among allowed actions (all allowed when `mask` is empty); ties go
/// to the lowest index; falls back to 0 when nothing is allowed.
pub fn masked_argmax(scores: &[f64], mask: &[bool]) -> usize {
    let mut best: Option<(usize, f64)> = None;
    for (i, &s) in scores.iter().enumerate() {
        if !mask.is_empty() && !mask.get(i).copied().unwrap_or(false) {
            continue;
        }
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map_or(0, |b| b.0)
}

/// The risk score of one action's quantile values at fractions `taus`. For the mean this is the
/// plain average (never the max per quantile); other measures go through imbarb-risk.
pub fn quantile_score(measure: &RiskMeasure, taus: &[f64], values: &[f64]) -> f64 {
    if *measure == RiskMeasure::Mean {
        return values.iter().sum::<f64>() / values.len() as f64;
    }
    Discrete::quantiles(taus, values).map_or(f64::NEG_INFINITY, |d| measure.evaluate(&d))
}

/// Risk scores of consecutive blocks of quantile values (`values` laid out `... x n`, one block
/// per row and action, at fractions `taus`), one score per block, appended to `out` after
/// clearing it.
pub fn quantile_scores(measure: &RiskMeasure, taus: &[f64], values: &[f32], out: &mut Vec<f64>) {
    let n = taus.len();
    out.clear();
    let mut v = vec![0.0f64; n];
    for chunk in values.chunks_exact(n) {
        for (o, x) in v.iter_mut().zip(chunk) {
            *o = *x as f64;
        }
        out.push(quantile_score(measure, taus, &v));
    }
}

/// The gradient of `quantile_score` with respect to each of `values` (one row's quantiles at the
/// midpoint fractions, equally likely), for an actor that climbs the critic's risk score through
/// its action. Every measure but mean - lambda std is linear in the sorted quantiles (an
/// L-statistic: mean, VaR, CVaR, their mixes with the mean, the distortions), so its gradient is
/// one weight per rank (`weights`, from `rank_weights`) given to each value by its rank (ties:
/// any split is a subgradient). Mean - lambda std has its closed form.
pub fn quantile_score_gradient(
    measure: &RiskMeasure,
    weights: &[f64],
    values: &[f32],
    out: &mut [f32],
) {
    let n = values.len();
    if let RiskMeasure::MeanMinusStd { lambda } = *measure {
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let std = var.sqrt();
        for (o, &v) in out.iter_mut().zip(values) {
            let spread = if std > 0.0 {
                (v as f64 - mean) / (n as f64 * std)
            } else {
                0.0
            };
            *o = (1.0 / n as f64 - lambda * spread) as f32;
        }
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    for (rank, &i) in order.iter().enumerate() {
        out[i] = weights[rank] as f32;
    }
}

/// The weight of each rank in an L-statistic risk measure over quantiles at `taus` (ascending):
/// unit central differences around the distinct values 0, 1, ..., n - 1 keep the order, so they
/// are exact.
pub fn rank_weights(measure: &RiskMeasure, taus: &[f64]) -> Vec<f64> {
    let n = taus.len();
    let base: Vec<f64> = (0..n).map(|i| i as f64).collect();
    (0..n)
        .map(|k| {
            let mut up = base.clone();
            let mut down = base.clone();
            up[k] += 0.5;
            down[k] -= 0.5;
            quantile_score(measure, taus, &up) - quantile_score(measure, taus, &down)
        })
        .collect()
}

/// The risk score of a categorical distribution.
pub fn categorical_score(measure: &RiskMeasure, atoms: &[f64], probs: &[f64]) -> f64 {
    if *measure == RiskMeasure::Mean {
        return atoms.iter().zip(probs).map(|(z, p)| z * p).sum();
    }
    Discrete::categorical(atoms, probs).map_or(f64::NEG_INFINITY, |d| measure.evaluate(&d))
}

/// What every quantile-critic agent (QR-DQN, SAC, DSAC) reads from its config: the fractions
/// of its `n` outputs, the quantile-Huber threshold, the acting risk measure, gradient clipping,
/// the target-network rule and the reward scale.
#[derive(Debug, Clone)]
pub struct CriticSettings {
    /// Midpoint fractions (2i + 1) / 2n.
    pub taus: Vec<f32>,
    /// The same, for imbarb-risk.
    pub taus_f64: Vec<f64>,
    /// Quantile-Huber threshold.
    pub kappa: f32,
    /// Risk measure used to act (and, for DSAC, by the actor).
    pub measure: RiskMeasure,
    /// Gradient-norm clip (0: none).
    pub grad_clip: f32,
    /// Target-network updates.
    pub target_rule: TargetUpdate,
    /// Reward scale (EUR -> learning units).
    pub scale: f32,
}

impl CriticSettings {
    /// The settings of `config` for critics with `n` outputs per action.
    pub fn new(config: &TrainConfig, n: usize) -> CriticSettings {
        let taus = imbarb_nn::loss::midpoint_taus(n);
        CriticSettings {
            taus_f64: taus.iter().map(|&t| t as f64).collect(),
            taus,
            kappa: config.distribution.kappa,
            measure: config.risk,
            grad_clip: config.training.grad_clip,
            target_rule: config.training.target,
            scale: config.training.reward_scale,
        }
    }
}

/// A network with its target copy, optimiser, gradient buffer and forward caches: the learning
/// machinery written once for every agent.
#[derive(Debug, Clone)]
pub struct QNet {
    /// The network being trained.
    pub online: Mlp,
    /// The slowly following copy used for bootstrap targets.
    pub target: Mlp,
    /// Optimiser state.
    pub adam: Adam,
    /// Gradient buffer (zeroed before each update).
    pub grads: Vec<f32>,
    /// Cache of the online net's forward passes.
    pub cache: MlpCache,
    /// Second online cache (double DQN's action selection on next observations).
    pub cache2: MlpCache,
    /// Cache of the target net.
    pub target_cache: MlpCache,
    /// Updates applied.
    pub updates: u64,
}

impl QNet {
    /// A network of `config`'s hidden widths from `input` to `output`, seeded.
    pub fn new(
        config: &TrainConfig,
        input: usize,
        output: usize,
        seed: u64,
    ) -> imbarb_nn::Result<QNet> {
        let mut mc = imbarb_nn::MlpConfig::relu(input, &config.network.hidden, output);
        mc.layer_norm = config.network.layer_norm;
        mc.init = config.network.init;
        let online = Mlp::new(mc, seed)?;
        let n = online.num_params();
        Ok(QNet {
            target: online.clone(),
            adam: Adam::new(adam_config(config), n),
            grads: vec![0.0; n],
            cache: MlpCache::default(),
            cache2: MlpCache::default(),
            target_cache: MlpCache::default(),
            updates: 0,
            online,
        })
    }

    /// Clips the gradient, takes an Adam step and updates the target network.
    pub fn apply(&mut self, grad_clip: f32, target: TargetUpdate) {
        if grad_clip > 0.0 {
            imbarb_nn::clip_grad_norm(&mut self.grads, grad_clip);
        }
        self.adam.update(self.online.params_mut(), &self.grads);
        self.updates += 1;
        sync_target(
            self.target.params_mut(),
            self.online.params(),
            self.updates,
            target,
        );
    }

    /// Stores the online net (and target + optimiser with `training_state`) under `prefix`.
    pub fn save(
        &self,
        ck: &mut Checkpoint,
        prefix: &str,
        training_state: bool,
    ) -> imbarb_nn::Result<()> {
        ck.put_mlp(&format!("{prefix}.online"), &self.online)?;
        if training_state {
            ck.put_mlp(&format!("{prefix}.target"), &self.target)?;
            ck.put_adam(&format!("{prefix}.adam"), &self.adam)?;
            ck.set_meta(&format!("{prefix}.updates"), self.updates.to_string());
        }
        Ok(())
    }

    /// Restores what `save` stored; the shapes must match.
    pub fn load(
        &mut self,
        ck: &Checkpoint,
        prefix: &str,
        training_state: bool,
    ) -> imbarb_nn::Result<()> {
        let online = ck.mlp(&format!("{prefix}.online"))?;
        check_same_shape(&online, &self.online, prefix)?;
        self.online = online;
        if training_state {
            self.target = ck.mlp(&format!("{prefix}.target"))?;
            self.adam = ck.adam(&format!("{prefix}.adam"))?;
            self.updates = ck
                .meta(&format!("{prefix}.updates"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        } else {
            self.target = self.online.clone();
        }
        Ok(())
    }
}

/// The optimiser settings of a config.
pub fn adam_config(config: &TrainConfig) -> AdamConfig {
    AdamConfig {
        lr: config.training.lr,
        weight_decay: config.training.weight_decay,
        ..AdamConfig::default()
    }
}

/// Applies the target rule after update number `updates`.
pub fn sync_target(target: &mut [f32], online: &[f32], updates: u64, rule: TargetUpdate) {
    match rule {
        TargetUpdate::Hard { period } => {
            if updates.is_multiple_of(period as u64) {
                hard_update(target, online);
            }
        }
        TargetUpdate::Polyak { tau } => polyak_update(target, online, tau),
    }
}

/// Errors unless two networks have the same configuration.
pub fn check_same_shape(loaded: &Mlp, expected: &Mlp, name: &str) -> imbarb_nn::Result<()> {
    if loaded.config() != expected.config() {
        return Err(imbarb_nn::NnError::Shape(format!(
            "checkpoint network `{name}` is {:?}, the config builds {:?}",
            loaded.config(),
            expected.config()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use imbarb_risk::Distortion;

    /// `[network] init` reaches the value network: PyTorch's default draws every bias within
    /// 1 / sqrt(fan_in) of 0 (the first layer's fan-in is the observation width), He leaves them at 0.
    #[test]
    fn the_configured_initialisation_reaches_the_network() {
        let (input, output) = (12, 3);
        let net = |text: &str| {
            let config = TrainConfig::from_toml(text, "init.toml").expect("valid config");
            QNet::new(&config, input, output, 5).expect("network")
        };
        let torch = net("[network]\nhidden = [16]\ninit = \"torch\"\n");
        let he = net("[network]\nhidden = [16]\n");
        // Layout: first layer weights (input x 16), then its 16 biases.
        let first_biases = |q: &QNet| q.online.params()[input * 16..input * 16 + 16].to_vec();
        let bound = 1.0 / (input as f32).sqrt();
        assert!(first_biases(&torch)
            .iter()
            .all(|b| *b != 0.0 && b.abs() <= bound));
        assert!(first_biases(&he).iter().all(|b| *b == 0.0));
        assert_eq!(torch.online.params(), torch.target.params());
        let err = TrainConfig::from_toml("[network]\ninit = \"lecun\"\n", "bad.toml").unwrap_err();
        assert!(err.contains("bad.toml") && err.contains("init"), "{err}");
    }

    /// The score gradient matches central finite differences of `quantile_score` for every kind
    /// of measure, on values in random order with distinct gaps.
    #[test]
    fn score_gradient_matches_finite_differences() {
        let n = 8;
        let taus: Vec<f64> = (0..n)
            .map(|i| (2 * i + 1) as f64 / (2 * n) as f64)
            .collect();
        let values: Vec<f32> = [3.0f32, -1.5, 0.25, 7.0, -4.0, 1.0, 2.2, -0.3].to_vec();
        for measure in [
            RiskMeasure::Mean,
            RiskMeasure::Var { alpha: 0.1 },
            RiskMeasure::Cvar { alpha: 0.25 },
            RiskMeasure::MeanPlusVar {
                alpha: 0.1,
                beta: 3.0,
            },
            RiskMeasure::MeanPlusCvar {
                alpha: 0.3,
                beta: 0.5,
            },
            RiskMeasure::MeanMinusStd { lambda: 0.7 },
            RiskMeasure::Distorted(Distortion::Wang { eta: -0.75 }),
            RiskMeasure::Distorted(Distortion::Pow { eta: -2.0 }),
        ] {
            let weights = rank_weights(&measure, &taus);
            let mut grad = vec![0.0f32; n];
            quantile_score_gradient(&measure, &weights, &values, &mut grad);
            let score = |v: &[f32]| {
                let v: Vec<f64> = v.iter().map(|&x| x as f64).collect();
                quantile_score(&measure, &taus, &v)
            };
            for k in 0..n {
                let h = 1e-2f32;
                let (mut up, mut down) = (values.clone(), values.clone());
                up[k] += h;
                down[k] -= h;
                let fd = (score(&up) - score(&down)) / (2.0 * h as f64);
                assert!(
                    (grad[k] as f64 - fd).abs() < 1e-3,
                    "{measure:?} value {k}: {} vs {fd}",
                    grad[k]
                );
            }
        }
        // By hand: VaR_0.1 of 8 equally likely values is the smallest (rank 0, value -4.0).
        let w = rank_weights(&RiskMeasure::Var { alpha: 0.1 }, &taus);
        let mut grad = vec![0.0f32; n];
        quantile_score_gradient(&RiskMeasure::Var { alpha: 0.1 }, &w, &values, &mut grad);
        assert_eq!(grad, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    }
}
