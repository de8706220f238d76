//! imbarb-market: imbalance-settlement market data.
//!
//! Reads Elia (ods047, ods134/162, ods161/133, ods046, per-minute system imbalance), TenneT NL and
//! imbarb's canonical CSV files into one validated [`MarketData`]; knows the Europe/Brussels
//! settlement calendar; splits days into train / validation / test; and generates a calibrated
//! synthetic market for runs that need no downloaded data.

pub mod calendar;
pub mod coverage;
mod error;
mod header;
mod merge;
pub(crate) mod read;
pub mod source;
pub mod split;
pub mod stats;
pub mod summary;
pub mod synth;
mod types;
pub mod write;

pub use coverage::Coverage;
pub use error::{DataError, Result};
pub use read::{read_bytes, read_file, read_files, MAX_ABS_VALUE, MAX_YEAR, MIN_YEAR};
pub use split::{DaySplits, MonthWindow, Split, SplitSpec};
pub use types::*;
