//! Command-line options shared by `oracle` and `backtest`: which data, which days, which battery,
//! which decision granularity and action space, parsed into types; `imbarb-experiment` turns
//! them into a ready simulation setup.

use anyhow::Result;
use clap::{Args, ValueEnum};
use imbarb_experiment::{build_setup, DaySet, Setup};
use imbarb_market::source::DataSource;
use imbarb_market::SplitSpec;
use imbarb_sim::{
    ActionSpace, BatteryConfig, EnvConfig, Granularity, InitialSoc, LevelLimits, SimError,
};

/// How the state of charge starts each day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SocMode {
    /// Carried over between consecutive days (first day at --initial-soc).
    Carry,
    /// Every day starts at --initial-soc.
    Fixed,
}

/// `--levels-at-limits` (see `LevelLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AtLimits {
    /// Only levels that fit in full.
    Whole,
    /// Levels clip at the limits.
    Clip,
}

/// Which data, split and days a command evaluates on.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data: `belgium` (the embedded Elia prices, 2022-07 to 2023-08), files (merged; a
    /// day-ahead file adds the day-ahead curve) or `synthetic[:FROM..TO][:seed=N][:minutes]`.
    #[arg(long, num_args = 1.., default_value = "belgium")]
    pub data: Vec<DataSource>,
    /// Split: `paper`, `walk-forward:YYYY-MM-DD[:VALIDATION_DAYS]` or `explicit:...`.
    #[arg(long, default_value = "paper")]
    pub split: SplitSpec,
    /// Days to evaluate: train, validation, test or all.
    #[arg(long, default_value = "test")]
    pub days: DaySet,
}

/// Data, days, battery and environment options.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub source: DataArgs,
    /// Daily cycle cap (full equivalent cycles); none by default.
    #[arg(long)]
    pub cap: Option<f64>,
    /// Rated power, MW (charge and discharge).
    #[arg(long, default_value_t = 1.0)]
    pub power_mw: f64,
    /// Usable energy, MWh.
    #[arg(long, default_value_t = 2.0)]
    pub energy_mwh: f64,
    /// Efficiency of each leg (charge and discharge).
    #[arg(long, default_value_t = 0.9)]
    pub efficiency: f64,
    /// Start-of-day SoC rule.
    #[arg(long, value_enum, default_value_t = SocMode::Carry)]
    pub soc: SocMode,
    /// Initial SoC as a fraction of usable energy.
    #[arg(long, default_value_t = 0.5)]
    pub initial_soc: f64,
    /// Degradation cost per MWh of cell throughput, EUR/MWh.
    #[arg(long, default_value_t = 0.0)]
    pub degradation: f64,
    /// Decision granularity: `qh` or `minute`. Default: qh, except that `backtest` of trained
    /// runs takes the runs' own.
    #[arg(long)]
    pub granularity: Option<Granularity>,
    /// Actions: `continuous` or `discrete:N` (N power levels from full charge to full discharge).
    /// Default: continuous, except that `backtest` of trained runs takes the runs' own.
    #[arg(long)]
    pub actions: Option<ActionSpace>,
    /// Discrete levels at the SoC and cycle limits: `whole` (only levels that fit in full are
    /// allowed) or `clip` (any level that can move energy; the simulator executes what fits).
    #[arg(long, value_enum, default_value_t = AtLimits::Whole)]
    pub levels_at_limits: AtLimits,
    /// Seed for the per-minute surrogate estimates.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SetupArgs {
    /// The environment these options describe (battery checked).
    pub fn env_config(&self) -> Result<EnvConfig> {
        let granularity = self.granularity.unwrap_or(Granularity::Qh);
        let actions = self.actions.unwrap_or(ActionSpace::Continuous);
        let initial_soc = match self.soc {
            SocMode::Carry => InitialSoc::CarryOver {
                first_fraction: self.initial_soc,
            },
            SocMode::Fixed => InitialSoc::Fixed {
                fraction: self.initial_soc,
            },
        };
        let battery = BatteryConfig {
            charge_power_mw: self.power_mw,
            discharge_power_mw: self.power_mw,
            energy_mwh: self.energy_mwh,
            charge_efficiency: self.efficiency,
            discharge_efficiency: self.efficiency,
            initial_soc,
            cycles_per_day: self.cap,
            degradation_eur_per_mwh: self.degradation,
            ..BatteryConfig::default()
        };
        battery.check().map_err(as_flag_error)?;
        actions.check()?;
        Ok(EnvConfig {
            battery,
            granularity,
            actions,
            levels_at_limits: match self.levels_at_limits {
                AtLimits::Whole => LevelLimits::Whole,
                AtLimits::Clip => LevelLimits::Clip,
            },
            ..EnvConfig::default()
        })
    }

    /// Loads the data and builds days, features (normalised on training days) and the config.
    pub fn build(&self) -> Result<Setup> {
        build_setup(
            &self.source.data,
            &self.source.split,
            self.env_config()?,
            self.seed,
            self.source.days,
        )
    }
}

/// A battery error in the words of the command line: the flag that set the parameter, not the
/// config key behind it.
fn as_flag_error(e: SimError) -> anyhow::Error {
    match e {
        SimError::Battery {
            field,
            value,
            expected,
        } => anyhow::anyhow!(
            "{} = {}: expected {expected}",
            flag_of(field),
            imbarb_util::range::show_number(value)
        ),
        SimError::InitialSoc { .. } => anyhow::anyhow!("--initial-soc: {e}"),
        other => other.into(),
    }
}

/// The flag of battery parameter `field` (the parameter itself where no flag sets it).
pub fn flag_of(field: &str) -> &str {
    match field {
        "charge_power_mw" | "discharge_power_mw" => "--power-mw",
        "energy_mwh" => "--energy-mwh",
        "charge_efficiency" | "discharge_efficiency" => "--efficiency",
        "cycles_per_day" => "--cap",
        "degradation_eur_per_mwh" => "--degradation",
        other => other,
    }
}
