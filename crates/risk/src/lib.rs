//! imbarb-risk: the one risk module every agent shares.
//!
//! Return distributions come as quantiles (QR-DQN, IQN, DSAC critics), categorical atoms (C51) or
//! samples; all reduce to a sorted discrete distribution on which risk measures are exact:
//! mean, VaR, CVaR, the paper's mean + beta * VaR_alpha, mean + beta * CVaR_alpha,
//! mean - lambda * std, and IQN's distortion risk measures (CVaR, Wang, CPW, Pow).

pub mod distortion;
pub mod distribution;
pub mod measure;
mod normal;

pub use distortion::Distortion;
pub use distribution::Discrete;
pub use measure::RiskMeasure;
pub use normal::{normal_cdf, normal_quantile};
