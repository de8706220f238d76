//! Actions: how a policy expresses power (discrete levels or a continuous fraction of rated
//! power), what a level does at the battery's limits, and which levels are allowed (the action
//! mask). Shared by the environment, the baselines and the oracle.

use crate::battery::BatteryConfig;
use serde::{Deserialize, Serialize};

/// How actions are expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ActionSpace {
    /// `levels` evenly spaced power levels from full charge (index 0) to full discharge (last);
    /// with 3: full charge, idle, full discharge. Infeasible levels are masked.
    Discrete {
        /// Number of levels (>= 2).
        levels: usize,
    },
    /// A fraction in [-1, 1] of rated power (> 0 discharge); the simulator clips what is
    /// infeasible and reports the clipped amount.
    Continuous,
}

impl Default for ActionSpace {
    fn default() -> Self {
        ActionSpace::Discrete { levels: 3 }
    }
}

/// The most discrete power levels an action space may have: one every 2 % of rated power. The
/// exact DP's lattice, the action masks and the agents' output heads all grow with the count,
/// and finer steps than this add nothing a continuous agent does not do better.
pub const MAX_LEVELS: usize = 101;

impl ActionSpace {
    /// Checks the number of levels (2 to `MAX_LEVELS`).
    pub fn check(&self) -> Result<(), crate::SimError> {
        match *self {
            ActionSpace::Discrete { levels } if !(2..=MAX_LEVELS).contains(&levels) => {
                Err(crate::SimError::Levels(levels))
            }
            _ => Ok(()),
        }
    }

    /// Number of discrete actions (0 for continuous).
    pub fn n(&self) -> usize {
        match self {
            ActionSpace::Discrete { levels } => *levels,
            ActionSpace::Continuous => 0,
        }
    }

    /// The power fraction of discrete action `i` of `levels`: -1 (full charge) ..= +1.
    pub fn level_fraction(i: usize, levels: usize) -> f64 {
        -1.0 + 2.0 * i as f64 / (levels - 1) as f64
    }
}

/// The spelling of `--actions`: `continuous` or `discrete:N`.
impl std::fmt::Display for ActionSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionSpace::Continuous => f.write_str("continuous"),
            ActionSpace::Discrete { levels } => write!(f, "discrete:{levels}"),
        }
    }
}

/// An action space that is neither `continuous` nor `discrete:N` with N >= 2, as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("actions `{0}`: expected `continuous` or `discrete:N` with N from 2 to {MAX_LEVELS}")]
pub struct ParseActionSpaceError(pub String);

impl std::str::FromStr for ActionSpace {
    type Err = ParseActionSpaceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "continuous" {
            return Ok(ActionSpace::Continuous);
        }
        match s.strip_prefix("discrete:").map(str::parse::<usize>) {
            Some(Ok(levels)) if (2..=MAX_LEVELS).contains(&levels) => {
                Ok(ActionSpace::Discrete { levels })
            }
            _ => Err(ParseActionSpaceError(s.to_string())),
        }
    }
}

/// An action chosen by a policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Index of a discrete level.
    Discrete(usize),
    /// Fraction of rated power in [-1, 1] (> 0 discharge).
    Continuous(f64),
}

/// What a discrete power level does at the battery's limits (SoC bounds, the day's cycle
/// budget). Continuous actions always clip.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LevelLimits {
    /// A level is allowed only when it fits in full for the whole decision period: the SoC
    /// stays on the lattice of whole moves that the exact DP oracle solves, but energy near
    /// the limits is stranded (a 2 MWh battery starting half full can reach only 1.9 MWh).
    #[default]
    Whole,
    /// A level is allowed whenever it can move energy in its direction; the simulator executes
    /// what fits and reports the rest in the ledger's clipped power, as a battery controller
    /// tapers at its limits. The oracle is then the continuous-power LP (an upper bound).
    Clip,
}

/// Below this much room (MWh) a level clipped at the limits would move nothing: it is masked.
pub(crate) const MIN_CLIPPED_MOVE_MWH: f64 = 1e-6;

/// Grid power in MW for a power fraction (> 0 discharge), scaled by the matching rating.
pub fn fraction_to_mw(b: &BatteryConfig, fraction: f64) -> f64 {
    // Branch-free: the environment's inner loop calls this for every env and step.
    let f = if fraction.is_finite() {
        fraction.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    f.max(0.0) * b.discharge_power_mw + f.min(0.0) * b.charge_power_mw
}

/// The power fraction (> 0 discharge) of a grid power in MW: the inverse of `fraction_to_mw`,
/// for planners that solve in MW and answer in fractions.
pub fn mw_to_fraction(b: &BatteryConfig, power_mw: f64) -> f64 {
    if power_mw >= 0.0 {
        power_mw / b.discharge_power_mw.max(1e-12)
    } else {
        power_mw / b.charge_power_mw.max(1e-12)
    }
}

/// A planner's fraction for the quarter-hour in progress: planned at its first decision and
/// held through its minutes (minute mode asks once a minute; planners plan per quarter-hour).
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldPlan(Option<(usize, usize, f64)>);

impl HeldPlan {
    /// The fraction held for `d`'s quarter-hour, planned by `plan` when it is a new one.
    pub fn get_or_plan(&mut self, d: &crate::Decision, plan: impl FnOnce() -> f64) -> f64 {
        match self.0 {
            Some((day, qh, f)) if day == d.day_index && qh == d.qh => f,
            _ => {
                let f = plan();
                self.0 = Some((d.day_index, d.qh, f));
                f
            }
        }
    }

    /// Forgets the held plan (new data: the next decision plans afresh).
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

/// Writes the action mask of `levels` discrete levels: with `LevelLimits::Whole` a level is
/// allowed when it can be executed in full for `duration_h` within the SoC bounds and the
/// remaining cycle budget, with `Clip` when it can move any energy in its direction. Idle (or the
/// level closest to 0) is always allowed. An empty mask (continuous actions) stays empty.
pub fn action_mask(
    b: &BatteryConfig,
    soc_mwh: f64,
    throughput_left_mwh: f64,
    duration_h: f64,
    limits: LevelLimits,
    mask: &mut [bool],
) {
    let levels = mask.len();
    if levels == 0 {
        // Continuous actions have no mask: the simulator clips instead.
        return;
    }
    let room_out = (soc_mwh - b.soc_min_mwh()).min(throughput_left_mwh);
    let room_in = (b.soc_max_mwh() - soc_mwh).min(throughput_left_mwh);
    for (i, m) in mask.iter_mut().enumerate() {
        let (out, inn) = level_cell_energy(b, ActionSpace::level_fraction(i, levels), duration_h);
        *m = level_allowed(limits, out, inn, room_out, room_in);
    }
    if !mask.iter().any(|m| *m) {
        let idle = (0..levels)
            .min_by(|&x, &y| {
                ActionSpace::level_fraction(x, levels)
                    .abs()
                    .total_cmp(&ActionSpace::level_fraction(y, levels).abs())
            })
            .unwrap_or(0);
        mask[idle] = true;
    }
}

/// Cell energy a power fraction moves in full over `duration_h`: (out of the cells, into the
/// cells), MWh, one of them 0.
pub(crate) fn level_cell_energy(b: &BatteryConfig, fraction: f64, duration_h: f64) -> (f64, f64) {
    let (into, out) = b.cell_energy(fraction_to_mw(b, fraction) * duration_h);
    (out, into)
}

/// Whether a level needing `out` / `inn` MWh of cell energy in full (one of them 0) is allowed
/// with `room_out` / `room_in` MWh of room under `limits`.
pub(crate) fn level_allowed(
    limits: LevelLimits,
    out: f64,
    inn: f64,
    room_out: f64,
    room_in: f64,
) -> bool {
    const EPS: f64 = 1e-9;
    match limits {
        LevelLimits::Whole => out <= room_out + EPS && inn <= room_in + EPS,
        LevelLimits::Clip => {
            (out == 0.0 || room_out > MIN_CLIPPED_MOVE_MWH)
                && (inn == 0.0 || room_in > MIN_CLIPPED_MOVE_MWH)
        }
    }
}

/// The action closest to a desired power fraction: the fraction itself for continuous actions,
/// the nearest allowed level for discrete ones.
pub fn action_for_fraction(space: ActionSpace, fraction: f64, mask: &[bool]) -> Action {
    match space {
        ActionSpace::Continuous => Action::Continuous(fraction.clamp(-1.0, 1.0)),
        ActionSpace::Discrete { levels } => {
            let best = (0..levels)
                .filter(|&i| mask.get(i).copied().unwrap_or(true))
                .min_by(|&a, &b| {
                    (ActionSpace::level_fraction(a, levels) - fraction)
                        .abs()
                        .total_cmp(&(ActionSpace::level_fraction(b, levels) - fraction).abs())
                })
                .unwrap_or(levels / 2);
            Action::Discrete(best)
        }
    }
}
