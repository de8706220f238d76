//! imbarb-sim: everything an agent is trained in and judged by.
//!
//! A battery (power limits, usable energy, per-leg efficiencies, SoC bounds, daily cycle budget,
//! degradation cost) settled per quarter-hour at the final imbalance price (single or dual
//! pricing), decided per quarter-hour or per minute, observed only through information published
//! before each decision, and stepped as a batch of days in lockstep.

pub mod actions;
pub mod battery;
pub mod day_ahead;
pub mod days;
pub mod env;
pub mod error;
pub mod features;
pub mod settlement;

pub use actions::{HeldPlan, MAX_LEVELS};
pub use battery::{BatteryConfig, BatteryLimit, InitialSoc, StepOutcome, BATTERY_LIMITS};
pub use day_ahead::{DayAheadRule, MAX_DAY_AHEAD_FILL_QH};
pub use days::{Day, Granularity, MarketDays, ParseGranularityError};
pub use env::{
    action_for_fraction, action_mask, rollout, Action, ActionSpace, Decision, EnvConfig,
    LevelLimits, ParseActionSpaceError, Policy, StepRecord, VecEnv,
};
pub use error::SimError;
pub use features::{
    battery_observation, components_in, decision_features, normalise, profile_from_stored,
    profile_to_stored, DayAheadMissing, FeatureScaling, MarketFeatures, ObservationConfig,
    BATTERY_FEATURES, BATTERY_FEATURE_NAMES,
};
pub use settlement::{settle, settle_increment};
