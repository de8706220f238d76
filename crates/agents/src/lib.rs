//! imbarb-agents: value-based distributional agents (DQN, C51, QR-DQN, IQN) and soft
//! actor-critics (SAC, risk-sensitive DSAC; discrete levels or continuous power) on imbarb-nn, the
//! learning machinery they share (replay, n-step returns, target networks, the trainer with
//! validation, checkpoints and resume), and the wrapper that lets a trained run act as a `Policy`.

pub mod average;
pub mod build;
pub mod c51;
pub mod config;
pub mod config_doc;
pub mod decide;
pub mod dqn;
pub mod iqn;
pub mod limits;
pub mod policy;
pub mod qrdqn;
pub mod replay;
pub mod residual;
pub mod sac;
pub mod sac_continuous;
pub mod trainer;
pub mod value;

pub use build::build_agent;
pub use config::{Algo, TrainConfig, TrainOverrides};
pub use policy::{append_run_forecast, RunPolicy};
pub use trainer::{train, TrainData, TrainError, TrainOptions, TrainOutcome};
pub use value::ValueAgent;
