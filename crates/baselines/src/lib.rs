//! imbarb-baselines: what every agent is measured against. The perfect-foresight optimum (an
//! exact dynamic programme for discrete actions, a linear programme for continuous power), a
//! threshold rule on the last known price, a time-of-day schedule, a forecast-based MPC (fitted once, or refit
//! every day on the most recent days), and idle.

pub mod dp;
pub mod error;
pub mod lp;
pub mod mpc;
pub mod mpc_rolling;
pub mod rules;

pub use dp::{dp_oracle, DpSchedule};
pub use error::BaselineError;
pub use lp::{lp_oracle, Horizon, Schedule};
pub use mpc::ForecastMpc;
pub use mpc_rolling::RollingMpc;
pub use rules::{Idle, Replay, RuleSignal, ThresholdRule, TimeOfDaySchedule};
