//! Command-line options shared by `oracle` and `backtest`: which data, which days, which battery,
//! which decision granularity and action space; and turning them into a ready simulation setup.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use imbarb_market::{source, Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::{
    ActionSpace, BatteryConfig, EnvConfig, Granularity, InitialSoc, LevelLimits, MarketDays,
    MarketFeatures,
};

/// Which days to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DaySet {
    /// Training days.
    Train,
    /// Validation days.
    Validation,
    /// Test days.
    Test,
    /// Every complete day.
    All,
}

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

/// Data, days, battery and environment options.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// Data: files (merged) or `synthetic[:FROM..TO][:seed=N][:minutes]`.
    #[arg(long, num_args = 1.., default_value = "synthetic")]
    pub data: Vec<String>,
    /// Split: `paper`, `walk-forward:YYYY-MM-DD[:VALIDATION_DAYS]` or `explicit:...`.
    #[arg(long, default_value = "paper")]
    pub split: String,
    /// Days to evaluate.
    #[arg(long, value_enum, default_value_t = DaySet::Test)]
    pub days: DaySet,
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
    /// Decision granularity: `qh` or `minute`.
    #[arg(long, default_value = "qh")]
    pub granularity: String,
    /// Actions: `continuous` or `discrete:N` (N power levels from full charge to full discharge).
    /// Default: continuous, except that `backtest` of trained runs takes the runs' own.
    #[arg(long)]
    pub actions: Option<String>,
    /// Discrete levels at the SoC and cycle limits: `whole` (only levels that fit in full are
    /// allowed) or `clip` (any level that can move energy; the simulator executes what fits).
    #[arg(long, value_enum, default_value_t = AtLimits::Whole)]
    pub levels_at_limits: AtLimits,
    /// Seed for the per-minute surrogate estimates.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Everything a command needs to simulate.
pub struct Setup {
    pub days: MarketDays,
    pub features: MarketFeatures,
    pub config: EnvConfig,
    pub train: Vec<usize>,
    pub eval: Vec<usize>,
    pub excluded_days: usize,
    pub data_hash: String,
}

impl SetupArgs {
    pub fn env_config(&self) -> Result<EnvConfig> {
        let granularity = match self.granularity.as_str() {
            "qh" => Granularity::Qh,
            "minute" => Granularity::Minute,
            other => bail!("--granularity `{other}`: expected `qh` or `minute`"),
        };
        let actions = match self.actions.as_deref().unwrap_or("continuous") {
            "continuous" => ActionSpace::Continuous,
            other => match other.strip_prefix("discrete:").map(str::parse::<usize>) {
                Some(Ok(levels)) if levels >= 2 => ActionSpace::Discrete { levels },
                _ => {
                    bail!("--actions `{other}`: expected `continuous` or `discrete:N` with N >= 2")
                }
            },
        };
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
        battery.check().map_err(anyhow::Error::msg)?;
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
            &self.data,
            &self.split,
            self.env_config()?,
            self.seed,
            self.days,
        )
    }
}

/// Loads `sources`, splits the days by `split`, arranges them for `config`'s granularity and
/// builds the observation features (normalised on training days); `days` picks the evaluation
/// set. Shared by every command that simulates.
pub fn build_setup(
    sources: &[String],
    split: &str,
    config: EnvConfig,
    minute_seed: u64,
    days_set: DaySet,
) -> Result<Setup> {
    let data = source::load(sources)?;
    let coverage = Coverage::of(&data);
    let spec = SplitSpec::parse(split)?;
    let splits = DaySplits::new(&coverage, &spec);
    let days = MarketDays::new(
        &data,
        &coverage.complete_days,
        config.granularity,
        minute_seed,
    )
    .map_err(anyhow::Error::msg)
    .context("arranging days")?;
    let index_of = |set: &[chrono::NaiveDate]| -> Vec<usize> {
        days.days
            .iter()
            .enumerate()
            .filter(|(_, d)| set.contains(&d.date))
            .map(|(i, _)| i)
            .collect()
    };
    let train = index_of(splits.days(Split::Train));
    let eval = match days_set {
        DaySet::Train => train.clone(),
        DaySet::Validation => index_of(splits.days(Split::Validation)),
        DaySet::Test => index_of(splits.days(Split::Test)),
        DaySet::All => (0..days.days.len()).collect(),
    };
    if eval.is_empty() {
        bail!("no complete {days_set:?} days in the data with split `{split}`");
    }
    if train.is_empty() {
        bail!("no complete training days in the data with split `{split}`");
    }
    let features = MarketFeatures::build(&days, &config.observation, config.granularity, &train)
        .map_err(anyhow::Error::msg)?;
    Ok(Setup {
        excluded_days: coverage.incomplete_days.len(),
        data_hash: data.data_hash(),
        days,
        features,
        config,
        train,
        eval,
    })
}

impl Setup {
    /// A one-paragraph description of what is being evaluated.
    pub fn describe(&self) -> String {
        let b = &self.config.battery;
        let first = self.days.days[self.eval[0]].date;
        let last = self.days.days[*self.eval.last().unwrap_or(&0)].date;
        let mut s = format!(
            "{}{} evaluation days ({first} .. {last}), {} training days, {} incomplete days excluded\n\
             battery {} MW / {} MWh, efficiency {} / {}, cap {}, SoC {:?}, {:?} decisions, {:?} actions",
            if self.days.synthetic { "SYNTHETIC DATA | " } else { "" },
            self.eval.len(),
            self.train.len(),
            self.excluded_days,
            b.discharge_power_mw,
            b.energy_mwh,
            b.charge_efficiency,
            b.discharge_efficiency,
            b.cycles_per_day.map_or("none".into(), |c| format!("{c} cycles/day")),
            b.initial_soc,
            self.config.granularity,
            self.config.actions,
        );
        if self.days.surrogate_qhs > 0 {
            s.push_str(&format!(
                "\nminute mode uses SURROGATE running estimates (final price + real ods161 residuals) for {} quarter-hours",
                self.days.surrogate_qhs
            ));
        }
        s
    }
}
