//! Training configuration (TOML): which algorithm, data, environment, network, distribution,
//! risk measure, actor-critic settings and learning schedule. Every field has a documented default; unknown keys are
//! errors.

use imbarb_risk::RiskMeasure;
use imbarb_sim::EnvConfig;
use serde::{Deserialize, Serialize};

/// The algorithms: value-based (DQN, C51, QR-DQN, IQN) and actor-critic (SAC, DSAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Algo {
    /// Double DQN (van Hasselt et al. 2016), optionally dueling (Wang et al. 2016).
    Dqn,
    /// Categorical DQN (Bellemare et al. 2017).
    C51,
    /// Quantile-regression DQN (Dabney et al. 2018a).
    QrDqn,
    /// Implicit quantile networks (Dabney et al. 2018b).
    Iqn,
    /// Soft actor-critic for discrete actions (Christodoulou 2019): twin Q critics.
    Sac,
    /// Distributional SAC (Ma et al. 2020): twin quantile critics and a risk-sensitive actor.
    Dsac,
}

impl Algo {
    /// The name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Dqn => "dqn",
            Algo::C51 => "c51",
            Algo::QrDqn => "qr-dqn",
            Algo::Iqn => "iqn",
            Algo::Sac => "sac",
            Algo::Dsac => "dsac",
        }
    }
}

/// Where the market data comes from and how days split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Files (merged), `belgium` (the embedded Elia prices) or
    /// `synthetic[:FROM..TO][:seed=N][:minutes]`; relative paths are relative to the working
    /// directory. Default: the embedded synthetic market.
    pub sources: Vec<String>,
    /// `paper`, `walk-forward:YYYY-MM-DD[:VALIDATION_DAYS]` or `explicit:...`. Default `paper`.
    pub split: String,
    /// Seed of the per-minute surrogate estimates (minute mode without real per-minute data).
    pub minute_seed: u64,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            sources: vec!["synthetic".into()],
            split: "paper".into(),
            minute_seed: 0,
        }
    }
}

/// Network shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Hidden widths of the state network (the paper's [256, 128]).
    pub hidden: Vec<usize>,
    /// LayerNorm after each hidden linear layer.
    pub layer_norm: bool,
    /// Dueling head (DQN only): Q = V + A - mean(A).
    pub dueling: bool,
    /// Double target (DQN, QR-DQN and IQN): the online net selects the next action, the target
    /// net evaluates it (van Hasselt et al. 2016), which curbs the overestimation that makes a
    /// greedy agent trade on noise.
    pub double: bool,
    /// IQN: hidden widths of the head after the state x fraction product (empty: linear).
    pub iqn_head_hidden: Vec<usize>,
    /// Weight initialisation of every network the agent trains (value networks, IQN's trunk and
    /// head, SAC/DSAC's actor and critics): "he" (the default, for ReLU) or "torch" (PyTorch's
    /// `nn.Linear` default, as Stable-Baselines3 starts).
    pub init: imbarb_nn::Init,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            hidden: vec![256, 128],
            layer_norm: false,
            dueling: false,
            double: true,
            iqn_head_hidden: vec![],
            init: imbarb_nn::Init::He,
        }
    }
}

/// Support of C51's categorical distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Support {
    /// Symmetric support +-M from train-day statistics (see `auto_support`).
    Auto,
    /// Fixed bounds in EUR (unscaled; the paper's [-5000, 5000]).
    Fixed {
        /// Lowest atom, EUR.
        v_min: f64,
        /// Highest atom, EUR.
        v_max: f64,
    },
}

/// Return-distribution settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DistributionConfig {
    /// QR-DQN quantiles per action.
    pub quantiles: usize,
    /// C51 atoms.
    pub atoms: usize,
    /// C51 support.
    pub support: Support,
    /// Quantile-Huber threshold kappa (in scaled reward units).
    pub kappa: f32,
    /// IQN fractions sampled for the online estimate (N).
    pub iqn_n: usize,
    /// IQN fractions sampled for the target (N'); the target action is chosen on N' evenly
    /// spaced fractions.
    pub iqn_n_prime: usize,
    /// IQN fractions used to act (K, an evenly spaced grid).
    pub iqn_k: usize,
    /// IQN cosine features.
    pub iqn_cosines: usize,
    /// How IQN draws its N and N' fractions per sample.
    pub iqn_fractions: FractionSampling,
}

/// How IQN draws the quantile fractions of an update.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FractionSampling {
    /// N independent U(0, 1) draws per sample (Dabney et al. 2018b).
    #[default]
    Uniform,
    /// One U(0, 1) draw inside each of the N equal strata [i/N, (i+1)/N): every draw keeps the
    /// uniform marginal, but the N fractions always cover the whole distribution, so the loss of
    /// an update varies less from draw to draw.
    Stratified,
    /// One stratified draw of N fractions per batch, shared by all its samples: the cosine
    /// embedding then runs on N fractions instead of batch x N, so an update with N = 16 costs
    /// 0.8x one with 8 per sample. Each update's gradient stays unbiased; its samples are
    /// correlated, so learning needs more (cheaper) updates.
    SharedStratified,
}

impl FractionSampling {
    /// Whether one set of fractions serves the whole batch.
    pub fn is_shared(self) -> bool {
        matches!(self, FractionSampling::SharedStratified)
    }
}

impl Default for DistributionConfig {
    fn default() -> Self {
        DistributionConfig {
            quantiles: 32,
            atoms: 51,
            support: Support::Auto,
            kappa: 1.0,
            iqn_n: 8,
            iqn_n_prime: 8,
            iqn_k: 32,
            iqn_cosines: 64,
            iqn_fractions: FractionSampling::Uniform,
        }
    }
}

/// Actor-critic (SAC, DSAC) settings. The critics use `network`, `distribution.quantiles` (DSAC)
/// and `training`; the actor has the critics' hidden widths and learning-rate schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SacConfig {
    /// Target entropy as a share of the maximum, ln(allowed actions), per state (masked states
    /// have fewer choices). Christodoulou's 0.98 keeps the policy near uniform; a trading policy
    /// should be nearly deterministic, so the default asks for 0.2 of the maximum.
    pub target_entropy_ratio: f64,
    /// Initial entropy temperature alpha, in scaled reward units per nat.
    pub initial_alpha: f32,
    /// Tune alpha toward the target entropy (otherwise it stays at `initial_alpha`).
    pub auto_alpha: bool,
    /// Adam learning rate of log(alpha).
    pub alpha_lr: f32,
    /// Actor learning rate as a multiple of the critics' (scheduled) rate.
    pub actor_lr_scale: f32,
    /// How the trained agent acts greedily (validation, backtests); training always samples the
    /// policy. Continuous agents act on the policy's squashed mean or, with `critic`, on the best
    /// of 21 evenly spaced powers by the critics' risk score.
    pub greedy: SacGreedy,
    /// Continuous actions: the target entropy (nats) of the squashed Gaussian policy over power.
    /// Haarnoja et al.'s -dim(A) = -1 by default; lower asks for a more deterministic policy.
    pub continuous_target_entropy: f64,
    /// How the twin critics combine into the distribution that targets and the actor read.
    /// Experimental: `mean` did not help DSAC (seed 0, docs/results.md), so no shipped config
    /// uses it; kept to reproduce that measurement.
    pub twin: TwinCombine,
}

/// How an actor-critic combines its twin critics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TwinCombine {
    /// Quantile-wise minimum (Fujimoto et al. 2018; Ma et al. 2020): guards against
    /// overestimation, but its downward bias grows with the critics' disagreement, which is
    /// largest for the volatile actions (trading), so it also pushes the policy toward idling.
    Min,
    /// Quantile-wise average (Zhou et al. 2022, "Revisiting discrete soft actor-critic"): no
    /// pessimism beyond the critics' own.
    Mean,
}

impl TwinCombine {
    /// The two critics' outputs combined element by element. Minimum and average of two
    /// quantile functions are quantile functions, so distributional targets stay sorted where
    /// the critics are.
    pub fn combine(self, a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter()
            .zip(b)
            .map(|(x, y)| self.combine_one(*x, *y).0)
            .collect()
    }

    /// One output of each critic combined, with the combination's derivative by the first
    /// critic (the second's is 1 minus it): min puts all of it on the critic that gave the
    /// minimum, mean half on each. The continuous actor's gradient splits by it.
    pub fn combine_one(self, a: f32, b: f32) -> (f32, f32) {
        match self {
            TwinCombine::Min => (a.min(b), if b < a { 0.0 } else { 1.0 }),
            TwinCombine::Mean => (0.5 * (a + b), 0.5),
        }
    }
}

/// How the cycle budget's shadow price runs through a training day.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowPriceSchedule {
    /// The same price at every decision: one Lagrange multiplier for every day.
    #[default]
    Flat,
    /// The price times the share of the day's decisions still to come (the first decision pays
    /// it in full, the last 1/n of it). Budget left at midnight is lost, so its value falls as
    /// the day runs out: a flat price keeps an agent from trading a quiet day's late spreads
    /// that the budget could well afford.
    Fading,
}

impl ShadowPriceSchedule {
    /// The share of the shadow price charged at decision `step` (0-based) of a day of `steps`.
    pub fn factor(self, step: usize, steps: usize) -> f64 {
        match self {
            ShadowPriceSchedule::Flat => 1.0,
            ShadowPriceSchedule::Fading => steps.saturating_sub(step) as f64 / steps.max(1) as f64,
        }
    }
}

/// The greedy action of a trained actor-critic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SacGreedy {
    /// The policy's most likely allowed action.
    Policy,
    /// The allowed action with the best risk score of the combined twin critic distribution (the
    /// value agents' rule; the critics may be ahead of the actor).
    Critic,
}

impl Default for SacConfig {
    fn default() -> Self {
        SacConfig {
            target_entropy_ratio: 0.2,
            initial_alpha: 0.05,
            auto_alpha: true,
            alpha_lr: 3e-4,
            actor_lr_scale: 1.0,
            greedy: SacGreedy::Policy,
            continuous_target_entropy: -1.0,
            twin: TwinCombine::Min,
        }
    }
}

/// Target-network updates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum TargetUpdate {
    /// Copy the online net every `period` updates.
    Hard {
        /// Updates between copies.
        period: usize,
    },
    /// target = tau * online + (1 - tau) * target after every update.
    Polyak {
        /// Mixing weight.
        tau: f32,
    },
}

/// The learning schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Environment steps (decisions) to train for.
    pub total_steps: usize,
    /// Training days stepped in lockstep (each lockstep step gives this many transitions).
    pub envs: usize,
    /// Gradient updates per lockstep step.
    pub updates_per_step: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Replay capacity (transitions).
    pub replay_capacity: usize,
    /// Transitions collected before the first update.
    pub learning_starts: usize,
    /// Discount per decision. QH mode default 0.99 (a 100-step horizon, about one day);
    /// the paper uses 0.9995 per minute (a 2,000-minute horizon).
    pub gamma: f32,
    /// n of the n-step return (with a cycle cap, `n_step_with_cap` when set).
    pub n_step: usize,
    /// n of the n-step return under a daily cycle cap (None: `n_step`). With a budget, a trade's
    /// cost (the cycles it spends) is paid hours later, when a better spread has to be skipped,
    /// so the critics may need longer returns than without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_step_with_cap: Option<usize>,
    /// Adam learning rate at the start.
    pub lr: f32,
    /// Learning rate at the end: the rate falls linearly from `lr` to `lr_end` over the run
    /// (a smaller final step averages out the noise of imbalance-price rewards). None: constant.
    pub lr_end: Option<f32>,
    /// Gradient-norm clip (0 disables).
    pub grad_clip: f32,
    /// Target-network update.
    pub target: TargetUpdate,
    /// Rewards (EUR) are multiplied by this before learning; values and supports are in scaled
    /// units inside the networks and reported in EUR.
    pub reward_scale: f32,
    /// Exploration: epsilon decays linearly from `epsilon_start` to `epsilon_end` over
    /// `epsilon_decay_steps` environment steps.
    pub epsilon_start: f64,
    /// Final epsilon.
    pub epsilon_end: f64,
    /// Steps of the linear decay.
    pub epsilon_decay_steps: usize,
    /// Training days start at a uniformly random SoC (covers the state space); otherwise at the
    /// battery's first-day SoC.
    pub random_start_soc: bool,
    /// Validate (greedy backtest on the validation days) and checkpoint every this many steps.
    pub validate_every: usize,
    /// Threads for the network engine (results do not depend on it).
    pub threads: usize,
    /// Standard deviation of Gaussian noise added to the market features (normalised units) of
    /// every replayed observation: a regulariser against memorising the few hundred training
    /// days' price histories (0 disables).
    pub observation_noise: f32,
    /// Decoupled weight decay (AdamW), per unit of learning rate (0 disables).
    pub weight_decay: f32,
    /// A training day's last transitions bootstrap from the next calendar day's first decision
    /// (same SoC, fresh cycle budget) when that day exists in the data: the battery's value does
    /// not end at midnight, as backtests carry the SoC over. Otherwise a day ends with value 0,
    /// which teaches the agent to empty the battery before midnight.
    pub bootstrap_across_days: bool,
    /// Shadow price of the daily cycle budget, EUR per MWh of cell throughput: with a cycle cap,
    /// training rewards (only; validation and backtests pay real prices) are charged this much
    /// per MWh through the cells, the Lagrangian of the budget constraint. Every trade must then
    /// clear a bar, which the hard budget alone teaches slowly and noisily (the agent spends it on
    /// the first mediocre spread). Ignored without a cap; 0 disables.
    pub cycle_budget_shadow_price_eur_per_mwh: f64,
    /// How the shadow price runs through a day: flat, or fading with the share of the day left.
    /// Experimental: `fading` earned less with a cap (QR-DQN, experiments/shadow/), so no shipped
    /// config uses it; kept to reproduce that record.
    pub cycle_budget_shadow_price_schedule: ShadowPriceSchedule,
    /// Validate, checkpoint and act with an exponential moving average of the online weights
    /// over about this many environment steps (sampled after every round), instead of the
    /// online weights themselves: the online network jitters with each noisy minibatch, and an
    /// average of nearby weights generalises better (Polyak averaging; Izmailov et al. 2018).
    /// Learning and its targets are unchanged. 0 disables. Experimental: it did not pay for IQN
    /// or DSAC (experiments/average/, experiments/dsac-average/), so no shipped config uses it;
    /// kept to reproduce those records.
    pub weight_average_steps: usize,
    /// Which validated weights `best.safetensors` holds, the network backtests deploy.
    pub deploy: Deploy,
    /// A residual agent deploys a network over its planner (its first candidate) only when the
    /// network's lead on the validation days is significant at this one-sided confidence: a
    /// paired Student t test on the daily P&L differences. With `deploy = "best-validation"`
    /// the best of many networks' validations is an optimistic estimate against the planner's
    /// single one, and on few days a lucky network wins. 0: whenever it validates higher.
    /// Ignored without a planner candidate.
    pub planner_lead_confidence: f64,
    /// Environment steps of a warm-started run (each walk-forward month after the first starts
    /// from the month before's run and trains this many steps, exploring at `epsilon_end`);
    /// 0: every month trains a full run from scratch.
    pub warm_start_steps: usize,
    /// A finished run to start from: its networks, optimiser state and replay buffer (set by
    /// walk-forward experiments for every month after the first; its observation must match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<String>,
}

/// Which of a run's validated networks it deploys.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Deploy {
    /// The one with the best validation `selection` score. With few validation days the maximum
    /// of many noisy scores favours networks that were lucky on those days (winner's curse).
    #[default]
    BestValidation,
    /// The last one, at `total_steps`: with the learning rate decayed to `lr_end` it is the
    /// settled network, and validation only reports on it.
    Final,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            total_steps: 1_000_000,
            envs: 32,
            updates_per_step: 1,
            batch_size: 256,
            replay_capacity: 200_000,
            learning_starts: 10_000,
            gamma: 0.99,
            n_step: 3,
            n_step_with_cap: None,
            lr: 1e-4,
            lr_end: None,
            grad_clip: 10.0,
            target: TargetUpdate::Polyak { tau: 0.005 },
            reward_scale: 0.01,
            epsilon_start: 1.0,
            epsilon_end: 0.02,
            epsilon_decay_steps: 300_000,
            random_start_soc: true,
            validate_every: 100_000,
            threads: 1,
            observation_noise: 0.0,
            weight_decay: 0.0,
            bootstrap_across_days: true,
            cycle_budget_shadow_price_eur_per_mwh: 0.0,
            cycle_budget_shadow_price_schedule: ShadowPriceSchedule::Flat,
            weight_average_steps: 0,
            deploy: Deploy::BestValidation,
            planner_lead_confidence: 0.0,
            warm_start_steps: 0,
            warm_start: None,
        }
    }
}

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Algorithm.
    pub algo: Algo,
    /// Seed of every random stream (weights, exploration, days, replay sampling, fractions).
    pub seed: u64,
    /// Data and split.
    pub data: DataConfig,
    /// Battery, decision granularity, action space (discrete), observation.
    pub env: EnvConfig,
    /// Network shape.
    pub network: NetworkConfig,
    /// Return distribution.
    pub distribution: DistributionConfig,
    /// Risk measure used to act and to pick target actions (mean for DQN); for DSAC, the
    /// objective the actor maximises (the paper: mean + beta VaR_0.1); SAC: mean only.
    pub risk: RiskMeasure,
    /// Measure of the validation days' daily P&L (EUR) that picks the best checkpoint (mean:
    /// validation profit).
    pub selection: RiskMeasure,
    /// Actor-critic settings (SAC, DSAC).
    pub sac: SacConfig,
    /// Learning schedule.
    pub training: TrainingConfig,
    /// Forecast quantiles of the next prices as extra observation columns, from a forecaster
    /// fitted on the run's training days and saved with the run (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_features: Option<imbarb_plan::ForecastFeatures>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            algo: Algo::QrDqn,
            seed: 0,
            data: DataConfig::default(),
            env: EnvConfig::default(),
            network: NetworkConfig::default(),
            distribution: DistributionConfig::default(),
            risk: RiskMeasure::Mean,
            selection: RiskMeasure::Mean,
            sac: SacConfig::default(),
            training: TrainingConfig::default(),
            forecast_features: None,
        }
    }
}

/// Overrides laid over a config file, as `imbarb train` and Python's `imbarb.train` take them:
/// each replaces its field when set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainOverrides {
    /// `seed`.
    pub seed: Option<u64>,
    /// `data.sources`.
    pub data: Option<Vec<String>>,
    /// `env.battery.cycles_per_day`.
    pub cap: Option<f64>,
    /// `training.total_steps`.
    pub steps: Option<usize>,
}

impl TrainConfig {
    /// Parses a TOML config; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<TrainConfig, String> {
        let c: TrainConfig = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        c.check().map_err(|e| format!("{origin}: {e}"))?;
        Ok(c)
    }

    /// This config with `o` laid over it, its cap-dependent settings resolved
    /// (`resolve_for_cap`) and every setting checked.
    pub fn overridden(mut self, o: TrainOverrides) -> Result<TrainConfig, String> {
        if let Some(seed) = o.seed {
            self.seed = seed;
        }
        if let Some(data) = o.data {
            self.data.sources = data;
        }
        if let Some(cap) = o.cap {
            self.env.battery.cycles_per_day = Some(cap);
        }
        if let Some(steps) = o.steps {
            self.training.total_steps = steps;
        }
        self.resolve_for_cap();
        self.check()?;
        Ok(self)
    }

    /// n of the n-step return the run learns with: `n_step_with_cap` under a cycle cap when
    /// set, `n_step` otherwise.
    pub fn n_step(&self) -> usize {
        match (
            self.env.battery.cycles_per_day,
            self.training.n_step_with_cap,
        ) {
            (Some(_), Some(n)) => n,
            _ => self.training.n_step,
        }
    }

    /// Settles the settings that depend on the cycle cap, once the cap is final: `n_step` becomes
    /// the one the run uses and `n_step_with_cap` goes, so a run's recorded config says what it
    /// learned with and equals a config that set that n directly.
    pub fn resolve_for_cap(&mut self) {
        self.training.n_step = self.n_step();
        self.training.n_step_with_cap = None;
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# not serialisable: {e}\n"))
    }

    /// Checks every numeric setting against its range (`limits::TRAINING_LIMITS`, the battery's
    /// `BATTERY_LIMITS`) and the combinations that cannot train; the error names the key.
    pub fn check(&self) -> Result<(), String> {
        self.env
            .actions
            .check()
            .map_err(|e| format!("env.actions: {e}"))?;
        if self.env.actions == imbarb_sim::ActionSpace::Continuous
            && !matches!(self.algo, Algo::Sac | Algo::Dsac)
        {
            return Err(format!(
                "env.actions: {} acts on discrete levels ({{ kind = \"discrete\", levels = 3 }}); continuous power needs algo = \"sac\" or \"dsac\"",
                self.algo.name()
            ));
        }
        self.env.battery.check().map_err(|e| format!("env.{e}"))?;
        self.env.observation.check()?;
        self.risk.check().map_err(|e| format!("risk: {e}"))?;
        self.selection
            .check()
            .map_err(|e| format!("selection: {e}"))?;
        crate::limits::check_ranges(self).map_err(|e| e.to_string())?;
        if self.network.hidden.contains(&0) || self.network.iqn_head_hidden.contains(&0) {
            return Err(
                "network.hidden and network.iqn_head_hidden: widths must be positive".into(),
            );
        }
        if let Support::Fixed { v_min, v_max } = self.distribution.support {
            if v_min >= v_max {
                return Err(format!(
                    "distribution.support: need v_min < v_max, got {v_min}, {v_max}"
                ));
            }
        }
        crate::limits::check_updates_happen(self)?;
        if let Some(f) = &self.forecast_features {
            f.check().map_err(|e| e.to_string())?;
            f.names(&self.env.battery).map_err(|e| e.to_string())?;
            if self.env.granularity != imbarb_sim::Granularity::Qh {
                return Err("forecast_features: forecasts are made per quarter-hour; use env.granularity = \"qh\"".into());
            }
        }
        if self.residual_plan().is_some() {
            match self.env.actions {
                imbarb_sim::ActionSpace::Discrete { levels } if levels >= 3 && !levels.is_multiple_of(2) => {}
                actions => return Err(format!(
                    "forecast_features.plan.residual: the agent counts power levels from the plan's move, with waiting the middle one; env.actions = {actions} needs an odd number of discrete levels (discrete:3, discrete:5, ...)"
                )),
            }
        }
        if matches!(self.algo, Algo::Dqn | Algo::Sac) && self.risk != RiskMeasure::Mean {
            return Err(format!(
                "risk: {} learns only the mean; use c51, qr-dqn, iqn or dsac for a risk measure",
                self.algo.name()
            ));
        }
        Ok(())
    }

    /// The plan columns a residual agent counts its actions from (`forecast_features.plan` with
    /// `residual = true`); none for an agent acting on levels.
    pub fn residual_plan(&self) -> Option<&imbarb_plan::PlanColumns> {
        self.forecast_features
            .as_ref()
            .and_then(|f| f.plan.as_ref())
            .filter(|p| p.residual)
    }

    /// Number of discrete actions (0 for continuous power).
    pub fn n_actions(&self) -> usize {
        self.env.actions.n()
    }

    /// Learning rate after `steps` environment steps.
    pub fn learning_rate(&self, steps: usize) -> f32 {
        let t = &self.training;
        let f = (steps as f64 / t.total_steps.max(1) as f64).min(1.0) as f32;
        t.lr + f * (t.lr_end.unwrap_or(t.lr) - t.lr)
    }

    /// Epsilon after `steps` environment steps.
    pub fn epsilon(&self, steps: usize) -> f64 {
        let t = &self.training;
        if t.epsilon_decay_steps == 0 {
            return t.epsilon_end;
        }
        let f = (steps as f64 / t.epsilon_decay_steps as f64).min(1.0);
        t.epsilon_start + f * (t.epsilon_end - t.epsilon_start)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
