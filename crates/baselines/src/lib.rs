//! imbarb-baselines: what every agent is measured against. The perfect-foresight optimum (an
//! exact dynamic programme for discrete actions, a linear programme for continuous power), a
//! threshold rule on the last known price, a time-of-day schedule, a forecast-based MPC, and idle.

pub mod lp;

pub use lp::{lp_oracle, Horizon, Schedule};
