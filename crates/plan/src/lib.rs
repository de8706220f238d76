//! imbarb-plan: planning under price uncertainty.
//!
//! A probabilistic forecaster of the next quarter-hour prices (`forecast`: a quantile MLP on
//! imbarb-nn with monotone quantiles, from the agents' causal features; `gbdt`, its
//! gradient-boosted tree baseline), their scores against the
//! naive forecasts (`metrics`: pinball loss, CRPS, interval coverage, MAE per horizon), joint
//! price paths drawn from it (`scenarios`: a Gaussian copula fitted on training residuals), and
//! the stochastic MPC that plans over those paths with one non-anticipative first action
//! (`smpc`), and the forecaster's quantiles as agents' observation features
//! (`forecast_features`, from either model: `forecaster`), with a deterministic plan's values over a grid of states of charge
//! (`plan_columns`), and that plan acting alone as a baseline (`plan_policy`).

pub mod error;
pub mod forecast;
pub mod forecast_features;
pub mod forecaster;
pub mod gbdt;
pub mod metrics;
pub mod plan_columns;
pub mod plan_policy;
pub mod scenarios;
pub mod smpc;

pub use error::PlanError;
pub use forecast::{ForecastConfig, QuantileForecaster, QuantileModel};
pub use forecast_features::ForecastFeatures;
pub use forecaster::Forecaster;
pub use gbdt::{GbdtConfig, GbdtForecaster, TreeSettings};
pub use metrics::{evaluate, HorizonScores, NaiveKind};
pub use plan_columns::PlanColumns;
pub use plan_policy::PlanPolicy;
pub use scenarios::ScenarioGenerator;
pub use smpc::{SmpcConfig, StochasticMpc};
