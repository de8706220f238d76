//! One line of `metrics.jsonl`, typed: the trainer writes it and the report reads it, so renaming
//! a field breaks the build rather than leaving a chart empty.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the trainer records at each validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Environment steps so far.
    pub step: usize,
    /// Lockstep rounds so far.
    pub rounds: usize,
    /// Gradient updates so far.
    pub updates: u64,
    /// Epsilon of epsilon-greedy exploration at this step (value agents).
    pub epsilon: f64,
    /// Mean undiscounted return of the last 100 training days, EUR/day.
    pub train_return_eur_per_day: f64,
    /// Mean loss of the last 100 rounds.
    pub loss: f64,
    /// Validation: mean daily P&L, EUR/day.
    pub val_eur_per_day: f64,
    /// Validation: the selection measure of daily P&L, EUR.
    pub val_selection: f64,
    /// Validation: full equivalent cycles per day.
    pub val_cycles_per_day: f64,
    /// Validation: each validation day's P&L, EUR, in day order (what a network's lead over a
    /// residual agent's planner is tested on; empty in runs written before it was recorded).
    #[serde(default)]
    pub val_daily_eur: Vec<f64>,
    /// Whether this validation's network became the deployed one.
    pub best: bool,
    /// Wall-clock seconds since this session started.
    pub wall_s: f64,
    /// Environment steps per second in this session.
    pub env_steps_per_s: f64,
    /// Updates per second in this session.
    pub updates_per_s: f64,
    /// The agent's own diagnostics (e.g. SAC's temperature `alpha` and `entropy`).
    #[serde(flatten)]
    pub diagnostics: BTreeMap<String, f64>,
}
