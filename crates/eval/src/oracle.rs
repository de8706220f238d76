//! The perfect-foresight optimum matching a backtest's constraints: the exact DP for discrete
//! actions where it applies, the LP otherwise, and a policy that replays it.

use imbarb_baselines::{dp_oracle, lp_oracle, Horizon, Replay, Schedule};
use imbarb_sim::{ActionSpace, EnvConfig, InitialSoc, LevelLimits, MarketDays};
use std::collections::HashMap;

/// An optimum and how it was computed.
#[derive(Debug, Clone)]
pub struct Oracle {
    /// Per-day optimum.
    pub schedule: Schedule,
    /// Discrete actions when solved by the DP.
    pub actions: Option<Vec<Vec<usize>>>,
    /// "dp (exact lattice)", "lp", ...
    pub method: String,
}

impl Oracle {
    /// The optimum over `day_indices` under `config` (same battery, cap, SoC rule and action
    /// kind as the backtest).
    pub fn solve(
        days: &MarketDays,
        day_indices: &[usize],
        config: &EnvConfig,
    ) -> Result<Oracle, imbarb_baselines::BaselineError> {
        let horizon = match config.battery.initial_soc {
            InitialSoc::Fixed { .. } => Horizon::PerDay,
            InitialSoc::CarryOver { .. } => Horizon::Chained,
        };
        // Whole discrete levels have an exact lattice DP, unless a cap meets a carried SoC; every
        // other case takes the continuous-power LP, for levels a bound.
        let lp_method = match config.actions {
            ActionSpace::Continuous => "lp",
            // Clipped levels reach any SoC: the lattice DP no longer covers them.
            ActionSpace::Discrete { .. } if config.levels_at_limits == LevelLimits::Clip => {
                "lp (continuous bound: levels clip at the limits)"
            }
            ActionSpace::Discrete { .. }
                if config.battery.cycles_per_day.is_some() && horizon == Horizon::Chained =>
            {
                "lp (continuous bound: discrete DP with a cap and carried SoC is not offered)"
            }
            ActionSpace::Discrete { levels } => {
                let dp = dp_oracle(days, day_indices, &config.battery, levels, horizon)?;
                let method = if dp.exact {
                    "dp (exact lattice)"
                } else {
                    "dp (rounded lattice)"
                };
                return Ok(Oracle {
                    schedule: dp.schedule,
                    actions: Some(dp.actions),
                    method: method.into(),
                });
            }
        };
        let schedule = lp_oracle(days, day_indices, &config.battery, horizon)?;
        Ok(Oracle {
            schedule,
            actions: None,
            method: lp_method.into(),
        })
    }

    /// Total optimum, EUR.
    pub fn total_eur(&self) -> f64 {
        self.schedule.total_eur()
    }
}

/// A policy that replays the oracle's schedule in the simulator.
pub fn oracle_policy(oracle: &Oracle, day_indices: &[usize], config: &EnvConfig) -> Replay {
    let mut fractions = HashMap::new();
    let mut discrete = HashMap::new();
    let b = &config.battery;
    for (k, &d) in day_indices.iter().enumerate() {
        fractions.insert(
            d,
            oracle.schedule.power_mw[k]
                .iter()
                .map(|p| {
                    if *p >= 0.0 {
                        p / b.discharge_power_mw
                    } else {
                        p / b.charge_power_mw
                    }
                })
                .collect(),
        );
        if let Some(acts) = &oracle.actions {
            discrete.insert(d, acts[k].clone());
        }
    }
    Replay {
        label: format!("oracle ({})", oracle.method),
        fractions,
        discrete,
        space: config.actions,
    }
}
