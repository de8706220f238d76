//! What can go wrong when market data, a battery or an environment is set up, each case with
//! what a user needs to fix it.

use imbarb_market::DataError;

/// Errors of the simulator's setup.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A battery parameter outside its physical range (or not a finite number).
    #[error("battery: {field} = {}: expected {expected}", imbarb_util::range::show_number(*value))]
    Battery {
        /// The parameter, as configs and options name it.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What it must be.
        expected: String,
    },
    /// The first day's SoC lies outside the SoC bounds.
    #[error("battery: initial SoC {value} is outside the SoC bounds [{min}, {max}]")]
    InitialSoc {
        /// The initial SoC fraction.
        value: f64,
        /// Lowest allowed SoC fraction.
        min: f64,
        /// Highest allowed SoC fraction.
        max: f64,
    },
    /// An observation setting no observation can be built with, or data it needs is absent.
    #[error("{0}")]
    Observation(String),
    /// The data holds no quarter-hour prices.
    #[error("the data has no quarter-hour prices")]
    NoPrices,
    /// A requested day is not in the data.
    #[error("day {0} lies outside the data")]
    DayOutsideData(chrono::NaiveDate),
    /// A complete day lacks one of its quarter-hours in the data.
    #[error("day {date} misses quarter-hour {start}")]
    MissingQuarterHour {
        /// The day.
        date: chrono::NaiveDate,
        /// The quarter-hour's start, UTC.
        start: chrono::DateTime<chrono::Utc>,
    },
    /// Days were not chronological and distinct.
    #[error("days must be given in chronological order without repeats")]
    DaysOutOfOrder,
    /// A day index beyond the arranged days.
    #[error("day index {0} out of range")]
    DayOutOfRange(usize),
    /// Features or days prepared for one decision granularity used with another.
    #[error("features were built for {built} decisions per quarter-hour, the environment takes {wanted}")]
    GranularityMismatch {
        /// Decisions per quarter-hour the features were built for.
        built: usize,
        /// Decisions per quarter-hour of the environment.
        wanted: usize,
    },
    /// A run's normalisation has another number of columns than its observation config gives.
    #[error("the run's normalisation has {got} columns, its observation {expected}")]
    FeatureWidth {
        /// Columns the observation config gives.
        expected: usize,
        /// Columns the normalisation has.
        got: usize,
    },
    /// Columns appended to the features do not cover every decision point.
    #[error("appended feature columns hold {got} values, expected {expected} (one per decision point and column, with a mean and std per column)")]
    AppendedColumns {
        /// Values the features' rows call for.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Minute-mode features asked of days arranged for quarter-hour decisions.
    #[error("minute mode needs days arranged with minute granularity")]
    NotMinuteDays,
    /// Fewer than two discrete power levels, or more than `MAX_LEVELS`.
    #[error("discrete actions need 2 to {max} levels, got {0}", max = crate::actions::MAX_LEVELS)]
    Levels(usize),
    /// The market data behind the surrogate minute estimates could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
}
