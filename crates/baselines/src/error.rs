//! What can go wrong when a baseline is fitted or the perfect-foresight optimum is solved.

use imbarb_sim::SimError;

/// Errors of the baselines and the oracle.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The battery, days or environment were not valid.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// An MPC look-ahead of no quarter-hour, or longer than `MAX_MPC_HORIZON`.
    #[error("MPC horizon {0}: expected 1 to {max} quarter-hours", max = crate::mpc::MAX_MPC_HORIZON)]
    Horizon(usize),
    /// A rolling refit window of no day, or longer than `MAX_ROLLING_DAYS`.
    #[error("rolling MPC window {0} days: expected 1 to {max}", max = crate::mpc_rolling::MAX_ROLLING_DAYS)]
    RollingWindow(u32),
    /// A day to decide on has no complete day in the window before it to refit on.
    #[error("rolling MPC: no complete day in the {window_days} days before {date} to refit on")]
    EmptyWindow {
        /// The day it could not decide.
        date: chrono::NaiveDate,
        /// The window, days.
        window_days: u32,
    },
    /// A baseline fitted on training days was given none.
    #[error("{0}: no training days")]
    NoTrainingDays(&'static str),
    /// Fitting found nothing to choose from.
    #[error("{what}: {why}")]
    NothingToFit {
        /// The baseline.
        what: &'static str,
        /// Why there was no candidate.
        why: &'static str,
    },
    /// The exact DP needs 2 to `MAX_LEVELS` power levels.
    #[error("the DP oracle needs 2 to {max} levels, got {0}", max = imbarb_sim::MAX_LEVELS)]
    Levels(usize),
    /// The exact DP cannot carry the SoC across capped days.
    #[error(
        "the DP oracle with a daily cycle cap runs per day; for SoC carried across capped days \
         use the LP oracle"
    )]
    ChainedCap,
    /// The LP was given one cycle budget per block of days, and the counts differ.
    #[error("LP: {blocks} blocks of days but {budgets} cycle budgets")]
    BudgetsPerBlock {
        /// Blocks of consecutive days.
        blocks: usize,
        /// Budgets given.
        budgets: usize,
    },
    /// The LP solver failed.
    #[error("LP oracle: {0}")]
    Solver(String),
}
