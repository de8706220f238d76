//! What the parts of the trainer share: the data a run trains on, how a call behaves and what it
//! returns, its errors, and the state that moves from step to step and is saved for a resume.
//! Imports none of the trainer's other parts, so they all depend on it and not on each other.

use crate::average::WeightAverage;
use crate::config::TrainConfig;
use crate::replay::ReplayBuffer;
use imbarb_sim::{MarketDays, MarketFeatures};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::Path;

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
    /// A file of the run could not be written.
    #[error(transparent)]
    Write(#[from] imbarb_util::fs::WriteError),
    /// The run directory is not a run's, or another process owns it.
    #[error(transparent)]
    Lock(#[from] imbarb_util::fs::LockError),
    /// A directory that holds files other than a run's: training there would replace them.
    #[error("{0} holds files that are not an imbarb run's ({1}); choose a new or empty directory")]
    Foreign(String, String),
    /// Training diverged: a loss or weight stopped being a finite number.
    #[error("training diverged at step {step}: {what} is not finite; a training.lr or training.reward_scale too large is the usual cause (the run is not finished; its last good checkpoint is kept)")]
    Diverged {
        /// The environment step.
        step: usize,
        /// What went non-finite.
        what: String,
    },
    /// The environment could not be set up from the data and config.
    #[error(transparent)]
    Sim(#[from] imbarb_sim::SimError),
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> TrainError {
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
    /// The forecaster whose quantiles `features` show (`forecast_features`), saved with the run.
    pub forecaster: Option<&'a imbarb_plan::Forecaster>,
}

/// How a call to `train` behaves.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    /// Stop (as if interrupted) after this many lockstep rounds in this call; for tests.
    pub stop_after_rounds: Option<usize>,
    /// Set by someone else (a signal handler: the scheduler's warning before a time limit or a
    /// preemption) to stop after the current round with a checkpoint, so the run resumes from
    /// that round rather than from its last validation.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
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

/// Counters and statistics that a resume restores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Progress {
    pub(crate) steps: usize,
    pub(crate) rounds: usize,
    pub(crate) updates: u64,
    pub(crate) next_validation: usize,
    pub(crate) best: Option<Validation>,
    /// A residual agent's planner alone, its daily P&L on the validation days (in their
    /// order): what a network's lead is tested against (`planner_lead_confidence`).
    #[serde(default)]
    pub(crate) planner_daily: Option<Vec<f64>>,
    pub(crate) recent_returns: VecDeque<f64>,
    pub(crate) recent_losses: VecDeque<f64>,
    pub(crate) metrics_lines: usize,
}

pub(crate) const RECENT: usize = 100;

/// Everything a run's learning carries from step to step, and what `latest.safetensors` saves
/// besides the agent: replay, the weight average, the random stream and the counters.
pub(crate) struct TrainState {
    pub(crate) replay: ReplayBuffer,
    pub(crate) average: Option<WeightAverage>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) progress: Progress,
}

impl TrainState {
    /// The state of a run that has not taken a step.
    pub(crate) fn fresh(config: &TrainConfig, obs_width: usize, n_actions: usize) -> TrainState {
        let t = &config.training;
        TrainState {
            replay: ReplayBuffer::new(t.replay_capacity, obs_width, n_actions),
            average: (t.weight_average_steps > 0)
                .then(|| WeightAverage::new(t.weight_average_steps)),
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5EED_F1A4),
            progress: Progress {
                steps: 0,
                rounds: 0,
                updates: 0,
                next_validation: t.validate_every,
                best: None,
                planner_daily: None,
                recent_returns: VecDeque::new(),
                recent_losses: VecDeque::new(),
                metrics_lines: 0,
            },
        }
    }
}
