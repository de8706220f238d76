//! Errors of the forecaster and the planner, each naming what is wrong.

/// What can go wrong while fitting or planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A setting out of its range (names the setting).
    #[error("{0}")]
    Config(String),
    /// No usable training rows (days without a complete horizon of prices).
    #[error("no training rows: the training days hold no decision with a complete {0}-quarter-hour horizon of prices")]
    NoRows(usize),
    /// Building the observation features failed.
    #[error("features: {0}")]
    Features(#[from] imbarb_sim::SimError),
    /// The network engine refused the shape.
    #[error("network: {0}")]
    Network(#[from] imbarb_nn::NnError),
    /// The rolling MPC the plan reads could not be fitted.
    #[error("the plan's MPC: {0}")]
    Mpc(#[from] imbarb_baselines::BaselineError),
    /// The LP solver failed.
    #[error("LP solver: {0}")]
    Solver(String),
}
