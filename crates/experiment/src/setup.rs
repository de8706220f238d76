//! From data sources, a split and an environment config to a ready simulation setup: days,
//! observation features normalised on training days, and the evaluation days. Shared by every
//! command that simulates (oracle, backtest, train, experiment).

use anyhow::{bail, Context, Result};
use imbarb_market::source::{self, DataSource};
use imbarb_market::{Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::{EnvConfig, MarketDays, MarketFeatures};

use crate::forecaster_cache::ForecasterCache;

/// Which days to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl DaySet {
    /// Every day set, in the order `--days` lists them.
    pub const ALL: [DaySet; 4] = [DaySet::Train, DaySet::Validation, DaySet::Test, DaySet::All];

    /// The name users type (`train`, `validation`, `test`, `all`).
    pub fn name(self) -> &'static str {
        match self {
            DaySet::Train => "train",
            DaySet::Validation => "validation",
            DaySet::Test => "test",
            DaySet::All => "all",
        }
    }
}

impl std::fmt::Display for DaySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DaySet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DaySet::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("days `{s}`: expected train, validation, test or all"))
    }
}

/// Everything a command needs to simulate.
pub struct Setup {
    /// The complete days, arranged for the config's granularity.
    pub days: MarketDays,
    /// Observation features, normalised on the training days.
    pub features: MarketFeatures,
    /// The environment.
    pub config: EnvConfig,
    /// Indices (into `days`) of the training days.
    pub train: Vec<usize>,
    /// Indices of the evaluation days (the chosen `DaySet`).
    pub eval: Vec<usize>,
    /// Incomplete days left out of every split.
    pub excluded_days: usize,
    /// Complete days left out because the observation reads the day-ahead curve and theirs is
    /// incomplete.
    pub no_day_ahead_days: Vec<chrono::NaiveDate>,
    /// Hash of the loaded data (recorded with runs and results).
    pub data_hash: String,
    /// The forecaster whose quantiles `features` end with (`forecast_features`), if any.
    pub forecaster: Option<imbarb_plan::Forecaster>,
}

/// The data sources and split of a config, as written there, parsed (errors name the text).
pub fn parse_data(sources: &[String], split: &str) -> Result<(Vec<DataSource>, SplitSpec)> {
    let sources = source::parse_sources(sources).context("data.sources")?;
    let split = SplitSpec::parse(split).context("data.split")?;
    Ok((sources, split))
}

/// Loads `sources`, splits the days by `split`, arranges them for `config`'s granularity and
/// builds the observation features (normalised on training days); `days_set` picks the
/// evaluation set.
pub fn build_setup(
    sources: &[DataSource],
    split: &SplitSpec,
    config: EnvConfig,
    minute_seed: u64,
    days_set: DaySet,
) -> Result<Setup> {
    if split.month_windows().is_some() {
        bail!(
            "split `{split}` retrains every month: run it with `imbarb experiment` (data.split in the agents' configs), which trains, refits and tests month by month and pools the months"
        );
    }
    let data = source::load_sources(sources)?;
    let coverage = Coverage::of(&data);
    let splits = DaySplits::new(&coverage, split);
    let mut days = MarketDays::new(
        &data,
        &coverage.complete_days,
        config.granularity,
        minute_seed,
    )
    .context("arranging days")?;
    // Days the observation cannot be built for (no day-ahead curve) are named and left out,
    // as incomplete days are.
    let mut no_day_ahead_days = vec![];
    if config.observation.excludes_days_without_day_ahead() {
        let (with, without): (Vec<_>, Vec<_>) =
            days.days.iter().partition(|d| days.has_day_ahead_curve(d));
        if with.is_empty() {
            bail!(
                "env.observation reads the day-ahead price, but no complete day of the data has a day-ahead curve: add a day-ahead file to the data sources"
            );
        }
        if !without.is_empty() {
            no_day_ahead_days = without.iter().map(|d| d.date).collect();
            let kept: Vec<chrono::NaiveDate> = with.iter().map(|d| d.date).collect();
            days = MarketDays::new(&data, &kept, config.granularity, minute_seed)
                .context("arranging days")?;
        }
    }
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
        bail!("no complete {days_set} days in the data with split `{split}`");
    }
    if train.is_empty() {
        bail!("no complete training days in the data with split `{split}`");
    }
    let features = MarketFeatures::build(&days, &config.observation, config.granularity, &train)?;
    Ok(Setup {
        excluded_days: coverage.incomplete_days.len(),
        no_day_ahead_days,
        data_hash: data.data_hash(),
        days,
        features,
        config,
        train,
        eval,
        forecaster: None,
    })
}

/// The setup a run of `config` trains on: its data and split, its environment, its training
/// days, and its validation days as the evaluation set (what `Setup::train_data` expects).
/// A resumed run (`run`: its directory) observes through the forecaster it saved, never a refit;
/// a new one takes its forecaster from `cache` when one fitted on the same days is there.
pub fn training_setup(
    config: &imbarb_agents::TrainConfig,
    run: Option<&std::path::Path>,
    cache: Option<&ForecasterCache>,
) -> Result<Setup> {
    let (sources, split) = parse_data(&config.data.sources, &config.data.split)?;
    let mut setup = build_setup(
        &sources,
        &split,
        config.env.clone(),
        config.data.minute_seed,
        DaySet::Validation,
    )
    .context("data.sources")?;
    if let Some(spec) = &config.forecast_features {
        let saved = run
            .map(|dir| dir.join(imbarb_agents::trainer::FORECASTER_FILE))
            .filter(|f| f.exists());
        match saved {
            Some(file) => setup.observe_saved_forecast(spec, &file)?,
            None => setup.observe_forecast(spec, cache)?,
        }
    }
    Ok(setup)
}

impl Setup {
    /// What `train` learns from: this setup's training days, its evaluation days as the
    /// validation days (build it with `DaySet::Validation`), and its data hash.
    pub fn train_data(&self) -> imbarb_agents::TrainData<'_> {
        imbarb_agents::TrainData {
            days: &self.days,
            features: &self.features,
            train: &self.train,
            validation: &self.eval,
            data_hash: self.data_hash.clone(),
            forecaster: self.forecaster.as_ref(),
        }
    }

    /// Fits `spec`'s forecaster on the training days (or takes the one `cache` holds for them)
    /// and appends its quantiles to the observation. The forecaster goes through its saved form
    /// first, so training sees exactly the numbers a deployed run rebuilds from its
    /// `forecaster.safetensors`.
    pub fn observe_forecast(
        &mut self,
        spec: &imbarb_plan::ForecastFeatures,
        cache: Option<&ForecasterCache>,
    ) -> Result<()> {
        let saved = match cache {
            Some(cache) => cache.fit(spec, &self.days, &self.train, &self.data_hash)?.0,
            None => crate::forecaster_cache::fit_saved(spec, &self.days, &self.train)?.0,
        };
        spec.append(&saved, &self.days, &self.config.battery, &mut self.features)?;
        self.forecaster = Some(saved);
        Ok(())
    }

    /// Appends the quantiles of the forecaster saved in `file` (a run's, when it resumes: the
    /// same numbers it started with on any machine), refusing one fitted with other settings.
    pub fn observe_saved_forecast(
        &mut self,
        spec: &imbarb_plan::ForecastFeatures,
        file: &std::path::Path,
    ) -> Result<()> {
        let origin = file.display().to_string();
        let ck = imbarb_nn::Checkpoint::load(file)?;
        let saved = imbarb_plan::Forecaster::from_checkpoint(&ck, &origin)?;
        spec.append(&saved, &self.days, &self.config.battery, &mut self.features)
            .with_context(|| origin.clone())?;
        self.forecaster = Some(saved);
        Ok(())
    }

    /// A one-paragraph description of what is being evaluated, in words.
    pub fn describe(&self) -> String {
        let b = &self.config.battery;
        let first = self.days.days[self.eval[0]].date;
        let last = self.days.days[*self.eval.last().unwrap_or(&0)].date;
        let decisions = match self.config.granularity {
            imbarb_sim::Granularity::Qh => "decisions every quarter-hour",
            imbarb_sim::Granularity::Minute => "decisions every minute",
        };
        let mut s = format!(
            "{}{} evaluation days ({first} .. {last}), {} training days, {} incomplete days excluded\n\
             battery {} MW / {} MWh, efficiency {} / {}, cap {}, SoC {}, {decisions}, {} actions",
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
            describe_actions(&self.config),
        );
        if let (Some(first), Some(last)) = (
            self.no_day_ahead_days.first(),
            self.no_day_ahead_days.last(),
        ) {
            s.push_str(&format!(
                "\n{} days without a complete day-ahead curve left out ({first} .. {last})",
                self.no_day_ahead_days.len()
            ));
        }
        if self.days.day_ahead_filled > 0 {
            s.push_str(&format!(
                "\nday-ahead curve: {} quarter-hours filled with the price before them (gaps of at most 2 h)",
                self.days.day_ahead_filled
            ));
        }
        if self.days.surrogate_qhs > 0 {
            s.push_str(&format!(
                "\nminute mode uses SURROGATE running estimates (final price + real ods161 residuals) for {} quarter-hours",
                self.days.surrogate_qhs
            ));
        }
        s
    }
}

/// The action space in words: "continuous", "3-level" or "3-level, clipped at the limits".
pub fn describe_actions(config: &EnvConfig) -> String {
    match config.actions {
        imbarb_sim::ActionSpace::Continuous => "continuous".into(),
        imbarb_sim::ActionSpace::Discrete { levels } => match config.levels_at_limits {
            imbarb_sim::LevelLimits::Whole => format!("{levels}-level"),
            imbarb_sim::LevelLimits::Clip => format!("{levels}-level (clipped at the limits)"),
        },
    }
}
