//! The training loop shared by every agent: batches of training days stepped in lockstep with
//! epsilon-greedy actions (or the actor-critics' sampled policy), n-step transitions into replay,
//! gradient updates, periodic greedy validation on the validation days, the best checkpoint by the
//! selection measure (or the final one, `training.deploy`), and a full-state checkpoint from which
//! an interrupted run resumes to the same result.
//!
//! A run directory holds `config.toml`, `manifest.json`, `metrics.jsonl` and `checkpoints/`
//! (`latest.safetensors`: everything needed to resume; `best.safetensors`: the network to deploy).

use crate::average::WeightAverage;
use crate::build::build_agent;
use crate::config::{Deploy, ShadowPriceSchedule, Support, TrainConfig};
use crate::replay::{Batch, NStep, ReplayBuffer, Step};
use crate::value::{masked_argmax, ValueAgent};
use imbarb_nn::Checkpoint;
use imbarb_risk::Discrete;
use imbarb_sim::{rollout, Action, Decision, MarketDays, MarketFeatures, Policy, VecEnv};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The code version compiled into this binary (crate version and git commit).
pub const CODE_VERSION: &str = env!("IMBARB_CODE_VERSION");

/// Training failures, each naming what went wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration is invalid or does not fit the data.
    #[error("config: {0}")]
    Config(String),
    /// A file in the run directory could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
    /// A checkpoint could not be used.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The market a run trains on.
pub struct TrainData<'a> {
    /// Days (with per-minute estimates in minute mode).
    pub days: &'a MarketDays,
    /// Observations, normalised on the training days.
    pub features: &'a MarketFeatures,
    /// Training day indices.
    pub train: &'a [usize],
    /// Validation day indices (chronological).
    pub validation: &'a [usize],
    /// Hash of the loaded data, for the manifest.
    pub data_hash: String,
}

/// How a call to `train` behaves.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    /// Stop (as if interrupted) after this many lockstep rounds in this call; for tests.
    pub stop_after_rounds: Option<usize>,
}

/// What `manifest.json` records: enough to reproduce and to deploy the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The algorithm's name.
    pub algo: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// The full configuration.
    pub config: TrainConfig,
    /// Hash of the loaded market data.
    pub data_hash: String,
    /// Code version (crate version and git commit).
    pub code_version: String,
    /// Observation feature names (market features, then the battery's).
    pub feature_names: Vec<String>,
    /// Normalisation means of the market features (training days).
    pub feature_mean: Vec<f64>,
    /// Normalisation standard deviations of the market features.
    pub feature_std: Vec<f64>,
    /// Observation width.
    pub obs_width: usize,
    /// C51 support in EUR (as trained).
    pub support_eur: (f64, f64),
    /// Training and validation days.
    pub train_days: usize,
    /// Validation days.
    pub validation_days: usize,
    /// Whether the run reached its total steps.
    pub status: RunStatus,
    /// The validation of the deployed network (`best.safetensors`): the best so far, or with
    /// `training.deploy = "final"` the latest.
    pub best: Option<Validation>,
}

/// Where a run stands, as `manifest.json` records it (`"running"` / `"finished"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Training has not reached its total steps (in progress, or interrupted: re-run resumes).
    Running,
    /// Training reached its total steps; the deployed network is final.
    Finished,
}

impl RunStatus {
    /// The word `manifest.json` holds.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the word a manifest holds, so `status == "finished"` reads as it did.
impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One validation: a greedy backtest over the validation days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Environment steps when it ran.
    pub step: usize,
    /// Mean daily P&L, EUR/day.
    pub eur_per_day: f64,
    /// The selection measure of daily P&L (EUR).
    pub selection: f64,
    /// Full equivalent cycles per day.
    pub cycles_per_day: f64,
}

/// The result of a `train` call.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// True when the run reached `total_steps`.
    pub finished: bool,
    /// Environment steps taken (including earlier sessions of a resumed run).
    pub steps: usize,
    /// Gradient updates applied.
    pub updates: u64,
    /// The best validation.
    pub best: Option<Validation>,
    /// Environment steps per second in this call.
    pub env_steps_per_s: f64,
    /// Updates per second in this call.
    pub updates_per_s: f64,
}

/// Counters and statistics that a resume restores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    steps: usize,
    rounds: usize,
    updates: u64,
    next_validation: usize,
    best: Option<Validation>,
    recent_returns: VecDeque<f64>,
    recent_losses: VecDeque<f64>,
    metrics_lines: usize,
}

const RECENT: usize = 100;

/// The support C51 uses when `support = auto`: +-M EUR with M = 0.15 x H x the 95th percentile
/// of the full-power reward magnitude |price| x P x duration over training quarter-hours, and
/// H = min(1 / (1 - gamma), decisions per day) the effective horizon. On the Belgian file that is
/// about +-2,100 EUR (an oracle day earns ~2,000): wide enough for discounted returns, and with
/// 101 atoms fine enough (~40 EUR) to tell actions apart. (0.5 x H, tried first, gave +-7,000 EUR
/// and atoms 280 EUR apart, and C51 could not resolve one step's reward.)
pub fn auto_support(config: &TrainConfig, days: &MarketDays, train: &[usize]) -> (f64, f64) {
    if let Support::Fixed { v_min, v_max } = config.distribution.support {
        return (v_min, v_max);
    }
    let b = &config.env.battery;
    let p = b.charge_power_mw.max(b.discharge_power_mw);
    let dt = config.env.granularity.duration_h();
    let mut r: Vec<f64> = train
        .iter()
        .flat_map(|&d| days.days[d].prices.iter())
        .map(|q| q.long_eur_per_mwh().abs().max(q.short_eur_per_mwh().abs()) * p * dt)
        .collect();
    r.sort_by(f64::total_cmp);
    let p95 = r.get(r.len() * 95 / 100).copied().unwrap_or(100.0);
    let per_day = 96 * config.env.granularity.decisions_per_qh();
    let gamma = config.training.gamma as f64;
    let horizon = if gamma < 1.0 {
        (1.0 / (1.0 - gamma)).min(per_day as f64)
    } else {
        per_day as f64
    };
    let m = (0.15 * horizon * p95).max(1.0);
    (-m, m)
}

/// A trained agent acting greedily on its risk measure, as a `Policy` (validation and backtests).
pub struct GreedyPolicy<'a> {
    /// The agent.
    pub agent: &'a mut dyn ValueAgent,
    /// Name for reports.
    pub name: String,
    actions: Vec<Action>,
}

impl<'a> GreedyPolicy<'a> {
    /// Wraps an agent.
    pub fn new(agent: &'a mut dyn ValueAgent, name: String) -> Self {
        GreedyPolicy {
            agent,
            name,
            actions: vec![],
        }
    }
}

impl Policy for GreedyPolicy<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, d: &Decision) -> Action {
        self.agent.act(d.observation, d.mask, 1, &mut self.actions);
        self.actions[0]
    }
}

/// Greedy backtest over `days` (chronological, SoC per the battery's rule): daily P&L in EUR and
/// cycles per day.
pub fn validate(
    agent: &mut dyn ValueAgent,
    data: &TrainData,
    config: &TrainConfig,
    day_indices: &[usize],
) -> Result<(Vec<f64>, f64), String> {
    // Per day: P&L and the cycles used by its last decision.
    let mut daily: Vec<(usize, f64, f64)> = vec![];
    let mut policy = GreedyPolicy::new(agent, String::new());
    rollout(
        data.days,
        data.features,
        &config.env,
        day_indices,
        &mut policy,
        |s| {
            if daily.last().is_none_or(|d| d.0 != s.day_index) {
                daily.push((s.day_index, 0.0, 0.0));
            }
            if let Some(d) = daily.last_mut() {
                d.1 += s.reward_eur;
                d.2 = s.cycles_after;
            }
        },
    )?;
    let cycles: f64 = daily.iter().map(|d| d.2).sum();
    let daily: Vec<f64> = daily.iter().map(|d| d.1).collect();
    let n = daily.len().max(1) as f64;
    Ok((daily, cycles / n))
}

/// Paths inside a run directory.
struct RunPaths {
    config: PathBuf,
    manifest: PathBuf,
    metrics: PathBuf,
    latest: PathBuf,
    best: PathBuf,
}

impl RunPaths {
    fn new(dir: &Path) -> RunPaths {
        RunPaths {
            config: dir.join("config.toml"),
            manifest: dir.join("manifest.json"),
            metrics: dir.join("metrics.jsonl"),
            latest: dir.join("checkpoints").join("latest.safetensors"),
            best: dir.join("checkpoints").join("best.safetensors"),
        }
    }
}

/// Writes `bytes` to `path` atomically (the project's one implementation, in imbarb-market).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    imbarb_market::write::write_atomic(path, bytes).map_err(|e| io_err(path, e))
}

/// Reads a run's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, TrainError> {
    let path = RunPaths::new(dir).manifest;
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_str(&text).map_err(|e| io_err(&path, format!("not a run manifest: {e}")))
}

/// Loads a run's best network for acting, with its manifest.
pub fn load_best(dir: &Path) -> Result<(Box<dyn ValueAgent>, Manifest), TrainError> {
    let manifest = read_manifest(dir)?;
    let path = RunPaths::new(dir).best;
    let ck = Checkpoint::load(&path).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    let mut agent = build_agent(&manifest.config, manifest.obs_width, manifest.support_eur)
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    agent
        .load(&ck, false)
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
    Ok((agent, manifest))
}

/// Trains (or resumes) the run in `dir`. A directory with a `latest` checkpoint resumes when its
/// `config.toml` equals `config`; a different config is an error (choose another directory).
pub fn train(
    data: &TrainData,
    config: &TrainConfig,
    dir: &Path,
    options: &TrainOptions,
) -> Result<TrainOutcome, TrainError> {
    config.check().map_err(TrainError::Config)?;
    if data.train.is_empty() || data.validation.is_empty() {
        return Err(TrainError::Config(
            "training needs training and validation days (check the split)".into(),
        ));
    }
    imbarb_nn::set_threads(config.training.threads);
    let paths = RunPaths::new(dir);
    std::fs::create_dir_all(dir.join("checkpoints")).map_err(|e| io_err(dir, e))?;
    let obs_width = data.features.observation_width();
    let n_actions = config.n_actions();
    let support = auto_support(config, data.days, data.train);
    let mut agent =
        build_agent(config, obs_width, support).map_err(|e| TrainError::Config(e.to_string()))?;
    let t = &config.training;
    let mut replay = ReplayBuffer::new(t.replay_capacity, obs_width, n_actions);
    // With weight averaging, validation and the best checkpoint use the averaged weights,
    // loaded into a second agent so that the learning one keeps its state.
    let mut average =
        (t.weight_average_steps > 0).then(|| WeightAverage::new(t.weight_average_steps));
    let mut averaged_agent: Option<Box<dyn ValueAgent>> = None;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5EED_F1A4);
    let mut progress = Progress {
        steps: 0,
        rounds: 0,
        updates: 0,
        next_validation: t.validate_every,
        best: None,
        recent_returns: VecDeque::new(),
        recent_losses: VecDeque::new(),
        metrics_lines: 0,
    };
    let names = data.features.observation_names();
    let mut manifest = Manifest {
        algo: config.algo.name().into(),
        seed: config.seed,
        config: config.clone(),
        data_hash: data.data_hash.clone(),
        code_version: CODE_VERSION.into(),
        feature_names: names,
        feature_mean: data.features.mean.clone(),
        feature_std: data.features.std.clone(),
        obs_width,
        support_eur: support,
        train_days: data.train.len(),
        validation_days: data.validation.len(),
        status: RunStatus::Running,
        best: None,
    };

    if paths.latest.exists() {
        // Resume: the same config, the full saved state, metrics cut back to the checkpoint.
        let saved = std::fs::read_to_string(&paths.config).map_err(|e| io_err(&paths.config, e))?;
        let saved = TrainConfig::from_toml(&saved, &paths.config.display().to_string())
            .map_err(TrainError::Config)?;
        if &saved != config {
            return Err(TrainError::Config(format!(
                "{} holds a run with a different config; resume with that config or choose another output directory",
                dir.display()
            )));
        }
        let old = read_manifest(dir)?;
        if old.data_hash != data.data_hash {
            return Err(TrainError::Config(format!(
                "{} was trained on other data (hash {} vs {})",
                dir.display(),
                old.data_hash,
                data.data_hash
            )));
        }
        let ck =
            Checkpoint::load(&paths.latest).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        let meta = |k: &str| {
            ck.meta(k)
                .ok_or_else(|| TrainError::Checkpoint(format!("missing `{k}`")))
        };
        progress = serde_json::from_str(meta("progress")?)
            .map_err(|e| TrainError::Checkpoint(format!("progress: {e}")))?;
        if progress.steps >= t.total_steps {
            // Finished: nothing to restore, and its manifest keeps the code version that trained
            // it (only a status left at `running` by an interruption after the last checkpoint
            // is completed).
            if old.status != RunStatus::Finished {
                let mut done = old;
                done.status = RunStatus::Finished;
                done.best = progress.best.clone();
                write_manifest(&paths, &done)?;
            }
            return Ok(outcome(
                true,
                &progress,
                Instant::now(),
                progress.steps,
                progress.updates,
            ));
        }
        let resume_err = |e: String| {
            TrainError::Checkpoint(format!(
                "{}: {e} (a checkpoint from another imbarb version cannot resume; start a new run)",
                paths.latest.display()
            ))
        };
        agent
            .load(&ck, true)
            .map_err(|e| resume_err(e.to_string()))?;
        replay = ReplayBuffer::load(&ck, "replay").map_err(resume_err)?;
        if let Some(a) = &mut average {
            a.load(&ck);
        }
        let seed: [u8; 32] = serde_json::from_str::<Vec<u8>>(meta("rng.seed")?)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| TrainError::Checkpoint("rng.seed".into()))?;
        rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(
            meta("rng.stream")?
                .parse()
                .map_err(|_| TrainError::Checkpoint("rng.stream".into()))?,
        );
        rng.set_word_pos(
            meta("rng.word_pos")?
                .parse()
                .map_err(|_| TrainError::Checkpoint("rng.word_pos".into()))?,
        );
        truncate_lines(&paths.metrics, progress.metrics_lines)?;
        manifest.best = progress.best.clone();
    } else {
        write_atomic(&paths.config, config.to_toml().as_bytes())?;
        write_atomic(&paths.metrics, b"")?;
    }
    write_manifest(&paths, &manifest)?;

    let bar = if options.progress {
        let bar = indicatif::ProgressBar::new(t.total_steps as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} | {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_position(progress.steps as u64);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };

    let started = Instant::now();
    let (steps_at_start, updates_at_start) = (progress.steps, progress.updates);
    let mut env =
        VecEnv::new(data.days, data.features, config.env.clone()).map_err(TrainError::Config)?;
    let b = &config.env.battery;
    let envs = t.envs;
    let mut batch = Batch::default();
    let mut scores = vec![];
    let mut actions = vec![Action::Discrete(0); envs];
    let mut rounds_this_call = 0usize;
    let (mut boot_obs, mut boot_mask) = (vec![0.0f32; obs_width], vec![true; n_actions]);
    let shadow_price = if b.cycles_per_day.is_some() {
        t.cycle_budget_shadow_price_eur_per_mwh
    } else {
        0.0
    };
    while progress.steps < t.total_steps {
        // One round: `envs` training days from their first to their last decision.
        let round_start = progress.steps;
        let day_idx: Vec<usize> = (0..envs)
            .map(|_| data.train[rng.gen_range(0..data.train.len())])
            .collect();
        let socs: Vec<f64> = (0..envs)
            .map(|_| {
                if t.random_start_soc {
                    rng.gen_range(b.soc_min_mwh()..=b.soc_max_mwh())
                } else {
                    b.day_start_soc_mwh(None)
                }
            })
            .collect();
        env.reset(&day_idx, &socs);
        let mut nstep: Vec<NStep> = (0..envs)
            .map(|_| NStep::new(config.n_step(), t.gamma))
            .collect();
        let mut returns = vec![0.0f64; envs];
        let mut loss_sum = 0.0f64;
        let mut loss_n = 0usize;
        while !env.all_done() {
            let obs = env.observations().to_vec();
            let masks = env.masks().to_vec();
            let was_done = env.dones().to_vec();
            let eps = config.epsilon(progress.steps);
            if !agent.explore(&obs, &masks, envs, &mut rng, &mut actions) {
                agent.scores(&obs, envs, &mut scores);
                for i in 0..envs {
                    let mask = &masks[i * n_actions..(i + 1) * n_actions];
                    actions[i] = Action::Discrete(if rng.gen::<f64>() < eps {
                        let allowed: Vec<usize> = (0..n_actions).filter(|&a| mask[a]).collect();
                        allowed[rng.gen_range(0..allowed.len())]
                    } else {
                        masked_argmax(&scores[i * n_actions..(i + 1) * n_actions], mask)
                    });
                }
            }
            let shadow_prices =
                shadow_prices(&env, shadow_price, t.cycle_budget_shadow_price_schedule);
            env.step_actions(&actions);
            let next_obs = env.observations();
            let next_masks = env.masks();
            for i in 0..envs {
                if was_done[i] {
                    continue;
                }
                let done = env.dones()[i];
                let next_day = if done && t.bootstrap_across_days {
                    next_day_start(
                        data,
                        config,
                        day_idx[i],
                        env.soc_mwh(i),
                        &mut boot_obs,
                        &mut boot_mask,
                    )
                } else {
                    false
                };
                let (next_o, next_m) = if next_day {
                    (&boot_obs[..], &boot_mask[..])
                } else {
                    (
                        &next_obs[i * obs_width..(i + 1) * obs_width],
                        &next_masks[i * n_actions..(i + 1) * n_actions],
                    )
                };
                let r = env.rewards()[i];
                returns[i] += r;
                let learnt = training_reward(r, &env.outcomes()[i], shadow_prices[i]);
                progress.steps += 1;
                nstep[i].push(
                    Step {
                        obs: &obs[i * obs_width..(i + 1) * obs_width],
                        mask: &masks[i * n_actions..(i + 1) * n_actions],
                        action: actions[i],
                        reward: (learnt * t.reward_scale as f64) as f32,
                        next_obs: next_o,
                        next_mask: next_m,
                        done,
                        bootstrap: next_day,
                    },
                    &mut |tr| replay.push(&tr),
                );
            }
            if replay.len() >= t.learning_starts.max(t.batch_size) {
                agent.set_learning_rate(config.learning_rate(progress.steps));
                for _ in 0..t.updates_per_step {
                    replay.sample(t.batch_size, &mut rng, &mut batch);
                    if t.observation_noise > 0.0 {
                        let fw = data.features.width;
                        for row in batch.obs.chunks_mut(obs_width) {
                            for x in &mut row[..fw] {
                                let z: f32 = rng.sample(rand_distr::StandardNormal);
                                *x += t.observation_noise * z;
                            }
                        }
                    }
                    loss_sum += agent.update(&batch, &mut rng) as f64;
                    loss_n += 1;
                    progress.updates += 1;
                }
            }
        }
        progress.rounds += 1;
        rounds_this_call += 1;
        if let Some(a) = &mut average {
            a.observe(agent.as_ref(), progress.steps - round_start)
                .map_err(|e| TrainError::Checkpoint(format!("weight average: {e}")))?;
        }
        for r in returns {
            push_recent(&mut progress.recent_returns, r);
        }
        if loss_n > 0 {
            push_recent(&mut progress.recent_losses, loss_sum / loss_n as f64);
        }
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let sps = (progress.steps - steps_at_start) as f64 / elapsed;
        let ups = (progress.updates - updates_at_start) as f64 / elapsed;
        bar.set_position(progress.steps.min(t.total_steps) as u64);
        // Value agents explore epsilon-greedily; actor-critics report their own state (alpha).
        let exploration = match agent.diagnostics().first() {
            Some((name, x)) => format!("{name} {x:.3}"),
            None => format!("eps {:.3}", config.epsilon(progress.steps)),
        };
        bar.set_message(format!(
            "{sps:.0} steps/s {ups:.0} upd/s | return {:.0} EUR/day | {exploration} | best val {}",
            mean(&progress.recent_returns),
            progress
                .best
                .as_ref()
                .map_or("-".into(), |v| format!("{:.1}", v.eur_per_day)),
        ));
        if progress.steps >= progress.next_validation || progress.steps >= t.total_steps {
            while progress.next_validation <= progress.steps {
                progress.next_validation += t.validate_every;
            }
            let acting: &mut dyn ValueAgent = match average.as_ref().and_then(|a| a.weights()) {
                Some(weights) => {
                    let a = match &mut averaged_agent {
                        Some(a) => a,
                        None => averaged_agent.insert(
                            build_agent(config, obs_width, support)
                                .map_err(|e| TrainError::Config(e.to_string()))?,
                        ),
                    };
                    a.load(weights, false)
                        .map_err(|e| TrainError::Checkpoint(format!("weight average: {e}")))?;
                    a.as_mut()
                }
                None => agent.as_mut(),
            };
            let (daily, cycles) =
                validate(acting, data, config, data.validation).map_err(TrainError::Config)?;
            let samples = Discrete::samples(&daily)
                .ok_or_else(|| TrainError::Config("validation produced no finite P&L".into()))?;
            let v = Validation {
                step: progress.steps,
                eur_per_day: samples.mean(),
                selection: config.selection.evaluate(&samples),
                cycles_per_day: cycles,
            };
            // Whether this validated network becomes the deployed one (`best.safetensors`).
            let deploy_this = match t.deploy {
                Deploy::BestValidation => progress
                    .best
                    .as_ref()
                    .is_none_or(|b| v.selection > b.selection),
                Deploy::Final => true,
            };
            if deploy_this {
                let mut ck = Checkpoint::new();
                acting
                    .save(&mut ck, false)
                    .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
                ck.set_meta("step", v.step.to_string());
                ck.save(&paths.best)
                    .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
                progress.best = Some(v.clone());
            }
            let mut line = serde_json::json!({
                "step": progress.steps,
                "rounds": progress.rounds,
                "updates": progress.updates,
                "epsilon": config.epsilon(progress.steps),
                "train_return_eur_per_day": mean(&progress.recent_returns),
                "loss": mean(&progress.recent_losses),
                "val_eur_per_day": v.eur_per_day,
                "val_selection": v.selection,
                "val_cycles_per_day": v.cycles_per_day,
                "best": deploy_this,
                "wall_s": elapsed,
                "env_steps_per_s": sps,
                "updates_per_s": ups,
            });
            for (k, x) in agent.diagnostics() {
                line[k] = serde_json::json!(x);
            }
            append_line(&paths.metrics, &line.to_string())?;
            progress.metrics_lines += 1;
            manifest.best = progress.best.clone();
            if progress.steps >= t.total_steps {
                manifest.status = RunStatus::Finished;
            }
            save_latest(
                &paths,
                agent.as_ref(),
                average.as_ref(),
                &replay,
                &rng,
                &progress,
            )?;
            write_manifest(&paths, &manifest)?;
        }
        if options
            .stop_after_rounds
            .is_some_and(|n| rounds_this_call >= n)
            && progress.steps < t.total_steps
        {
            bar.abandon();
            return Ok(outcome(
                false,
                &progress,
                started,
                steps_at_start,
                updates_at_start,
            ));
        }
    }
    bar.finish();
    Ok(outcome(
        true,
        &progress,
        started,
        steps_at_start,
        updates_at_start,
    ))
}

/// The cycle budget's shadow price (EUR per MWh of cell throughput) of each env's current
/// decision: `price` as `schedule` runs it through the day.
pub fn shadow_prices(env: &VecEnv, price: f64, schedule: ShadowPriceSchedule) -> Vec<f64> {
    (0..env.n_envs())
        .map(|i| price * schedule.factor(env.step_index(i), env.n_steps(i)))
        .collect()
}

/// The reward an agent learns from: the settlement (EUR) minus the cycle budget's shadow price
/// on the cell energy the step moved.
pub fn training_reward(
    reward_eur: f64,
    outcome: &imbarb_sim::StepOutcome,
    shadow_price: f64,
) -> f64 {
    reward_eur - shadow_price * (outcome.cell_in_mwh + outcome.cell_out_mwh)
}

/// The first observation and mask of the calendar day after day `d`, reached with `soc_mwh`
/// (cycle budget fresh). False when that day is not in the data (a gap or the end).
pub fn next_day_start(
    data: &TrainData,
    config: &TrainConfig,
    d: usize,
    soc_mwh: f64,
    obs: &mut [f32],
    mask: &mut [bool],
) -> bool {
    let days = &data.days.days;
    let consecutive = days
        .get(d + 1)
        .is_some_and(|n| days[d].date.succ_opt() == Some(n.date));
    if !consecutive {
        return false;
    }
    let b = &config.env.battery;
    let fw = data.features.width;
    obs[..fw].copy_from_slice(data.features.row(d + 1, 0));
    // The environment's battery features at a day's start: SoC fraction, no cycles used, the
    // whole budget left.
    obs[fw] = (soc_mwh / b.energy_mwh) as f32;
    obs[fw + 1] = 0.0;
    obs[fw + 2] = 1.0;
    imbarb_sim::action_mask(
        b,
        soc_mwh,
        b.daily_throughput_budget_mwh(),
        config.env.granularity.duration_h(),
        config.env.levels_at_limits,
        mask,
    );
    true
}

fn outcome(
    finished: bool,
    p: &Progress,
    started: Instant,
    steps_at_start: usize,
    updates_at_start: u64,
) -> TrainOutcome {
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    TrainOutcome {
        finished,
        steps: p.steps,
        updates: p.updates,
        best: p.best.clone(),
        env_steps_per_s: (p.steps - steps_at_start) as f64 / elapsed,
        updates_per_s: (p.updates - updates_at_start) as f64 / elapsed,
    }
}

fn push_recent(q: &mut VecDeque<f64>, x: f64) {
    if q.len() == RECENT {
        q.pop_front();
    }
    q.push_back(x);
}

fn mean(q: &VecDeque<f64>) -> f64 {
    if q.is_empty() {
        0.0
    } else {
        q.iter().sum::<f64>() / q.len() as f64
    }
}

fn write_manifest(paths: &RunPaths, m: &Manifest) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(m).map_err(|e| io_err(&paths.manifest, e))?;
    write_atomic(&paths.manifest, text.as_bytes())
}

fn save_latest(
    paths: &RunPaths,
    agent: &dyn ValueAgent,
    average: Option<&WeightAverage>,
    replay: &ReplayBuffer,
    rng: &ChaCha8Rng,
    progress: &Progress,
) -> Result<(), TrainError> {
    let ck_err = |e: imbarb_nn::NnError| TrainError::Checkpoint(e.to_string());
    let mut ck = Checkpoint::new();
    agent.save(&mut ck, true).map_err(ck_err)?;
    if let Some(a) = average {
        a.save(&mut ck);
    }
    replay.save(&mut ck, "replay").map_err(ck_err)?;
    let progress = serde_json::to_string(progress)
        .map_err(|e| TrainError::Checkpoint(format!("progress: {e}")))?;
    ck.set_meta("progress", progress);
    ck.set_meta("rng.seed", format!("{:?}", rng.get_seed()));
    ck.set_meta("rng.stream", rng.get_stream().to_string());
    ck.set_meta("rng.word_pos", rng.get_word_pos().to_string());
    ck.save(&paths.latest).map_err(ck_err)
}

fn append_line(path: &Path, line: &str) -> Result<(), TrainError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    writeln!(f, "{line}").map_err(|e| io_err(path, e))?;
    f.sync_data().map_err(|e| io_err(path, e))
}

/// Keeps the first `n` lines of a file (metrics written after the last checkpoint are replayed
/// by the resumed run).
fn truncate_lines(path: &Path, n: usize) -> Result<(), TrainError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    write_atomic(path, kept.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fading_shadow_price_falls_with_the_share_of_the_day_left() {
        let fading = ShadowPriceSchedule::Fading;
        assert_eq!(fading.factor(0, 96), 1.0);
        assert_eq!(fading.factor(48, 96), 0.5);
        assert_eq!(fading.factor(95, 96), 1.0 / 96.0);
        // A 100-decision autumn day ends at 1/100.
        assert_eq!(fading.factor(99, 100), 0.01);
        assert_eq!(ShadowPriceSchedule::Flat.factor(95, 96), 1.0);
    }

    #[test]
    fn the_shadow_price_charges_cell_throughput_by_hand() {
        // Charging 0.25 MWh from the grid at 90 % puts 0.225 MWh into the cells.
        let o = imbarb_sim::StepOutcome {
            grid_energy_mwh: -0.25,
            cell_in_mwh: 0.225,
            ..Default::default()
        };
        assert!((training_reward(-10.0, &o, 60.0) - (-10.0 - 13.5)).abs() < 1e-12);
        assert_eq!(training_reward(-10.0, &o, 0.0), -10.0);
        // Idle costs nothing.
        assert_eq!(
            training_reward(0.0, &imbarb_sim::StepOutcome::default(), 60.0),
            0.0
        );
    }
}
