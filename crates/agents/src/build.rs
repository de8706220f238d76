//! The one place that knows every algorithm: a config's `algo` (and action space, for the
//! actor-critics) to the agent that implements it. Kept apart so that the shared agent interface
//! (`value`) does not depend on every algorithm.

use crate::config::{Algo, TrainConfig};
use crate::value::ValueAgent;

/// Builds the agent a config asks for, with weights from `seed`: in the plan's frame when its
/// plan columns say `residual` (observations `obs_width` wide end with them, then the battery's).
pub fn build_agent(
    config: &TrainConfig,
    obs_width: usize,
    support_eur: (f64, f64),
) -> imbarb_nn::Result<Box<dyn ValueAgent>> {
    let agent = build_on_levels(config, obs_width, support_eur)?;
    Ok(match config.residual_plan() {
        Some(plan) => {
            let frame = crate::residual::PlanFrame::new(
                plan,
                &config.env.battery,
                config.n_actions(),
                obs_width,
            )?;
            Box::new(crate::residual::Residual::new(agent, frame))
        }
        None => agent,
    })
}

/// The agent a config's algorithm and action space name, acting on power levels.
fn build_on_levels(
    config: &TrainConfig,
    obs_width: usize,
    support_eur: (f64, f64),
) -> imbarb_nn::Result<Box<dyn ValueAgent>> {
    Ok(match config.algo {
        Algo::Dqn => Box::new(crate::dqn::Dqn::new(config, obs_width)?),
        Algo::C51 => Box::new(crate::c51::C51::new(config, obs_width, support_eur)?),
        Algo::QrDqn => Box::new(crate::qrdqn::QrDqn::new(config, obs_width)?),
        Algo::Iqn => Box::new(crate::iqn::Iqn::new(config, obs_width)?),
        Algo::Sac | Algo::Dsac => match config.env.actions {
            imbarb_sim::ActionSpace::Continuous => Box::new(
                crate::sac_continuous::ContinuousSac::new(config, obs_width)?,
            ),
            imbarb_sim::ActionSpace::Discrete { .. } => {
                Box::new(crate::sac::Sac::new(config, obs_width)?)
            }
        },
    })
}
