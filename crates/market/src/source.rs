//! Data sources as users name them on the command line: a file path, several paths,
//! `belgium` for the embedded real Belgian prices, or `synthetic[:FROM..TO][:seed=N][:minutes]`
//! for the embedded synthetic market.

use crate::synth::{self, SynthParams};
use crate::{read_files, DataError, MarketData, Result};
use chrono::NaiveDate;

/// Default period of the embedded synthetic market: one year, like the real data's span.
pub const DEFAULT_SYNTHETIC_FROM: &str = "2023-01-01";
/// Last day of the default synthetic period.
pub const DEFAULT_SYNTHETIC_TO: &str = "2023-12-31";

/// A parsed `synthetic:...` specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticSpec {
    /// First Brussels day.
    pub from: NaiveDate,
    /// Last Brussels day, included.
    pub to: NaiveDate,
    /// Generator seed.
    pub seed: u64,
    /// Also generate per-minute running estimates.
    pub minutes: bool,
}

impl SyntheticSpec {
    /// Parses `synthetic`, `synthetic:2023-01-01..2023-06-30`, `synthetic:seed=7:minutes`, ...
    /// Returns `Ok(None)` when `text` does not start with `synthetic`.
    pub fn parse(text: &str) -> Result<Option<SyntheticSpec>> {
        let Some(rest) = text.strip_prefix("synthetic") else {
            return Ok(None);
        };
        let bad = |why: String| {
            DataError::Invalid(format!(
                "data source `{text}`: {why}; expected synthetic[:FROM..TO][:seed=N][:minutes]"
            ))
        };
        let date = |s: &str| {
            s.parse::<NaiveDate>()
                .map_err(|_| bad(format!("`{s}` is not a date (YYYY-MM-DD)")))
        };
        let mut spec = SyntheticSpec {
            from: date(DEFAULT_SYNTHETIC_FROM)?,
            to: date(DEFAULT_SYNTHETIC_TO)?,
            seed: 0,
            minutes: false,
        };
        if !rest.is_empty() && !rest.starts_with(':') {
            return Ok(None); // a file whose name merely starts with "synthetic"
        }
        for part in rest.split(':').filter(|p| !p.is_empty()) {
            if let Some(seed) = part.strip_prefix("seed=") {
                spec.seed = seed
                    .parse()
                    .map_err(|_| bad(format!("`{seed}` is not a seed")))?;
            } else if part == "minutes" {
                spec.minutes = true;
            } else if let Some((a, b)) = part.split_once("..") {
                spec.from = date(a)?;
                spec.to = date(b)?;
            } else {
                return Err(bad(format!("unknown part `{part}`")));
            }
        }
        Ok(Some(spec))
    }

    /// Generates the market with the embedded parameters.
    pub fn generate(&self) -> Result<MarketData> {
        synth::generate(
            &SynthParams::embedded()?,
            self.from,
            self.to,
            self.seed,
            self.minutes,
        )
    }
}

/// The name of the embedded real prices on the command line and in configs.
pub const BELGIUM: &str = "belgium";

/// The file embedded as `belgium`, as it is in `shared/data`.
pub const BELGIUM_FILE: &str = "elia_be_imbalance_qh_2022-07_2023-08_combined.csv";

/// Elia's quarter-hour imbalance prices, 2022-07-10 to 2023-08-31 (pre-MARI, Elia Open Data
/// ods047, with SI / NRV / MIP / MDP / alpha for 2023-01 to 2023-05), gzip-compressed. It is the
/// file the paper-protocol results are measured on, so `belgium` reproduces them without a
/// download.
const BELGIUM_GZ: &[u8] =
    include_bytes!("../data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv.gz");

/// The embedded real Belgian prices (`belgium`): the same records, and the same data hash, as
/// the file it was compressed from.
pub fn belgium() -> Result<MarketData> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(2_600_000);
    flate2::read::GzDecoder::new(BELGIUM_GZ)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Invalid(format!("the embedded {BELGIUM_FILE}: {e}")))?;
    crate::read_bytes(&format!("{BELGIUM} (embedded {BELGIUM_FILE})"), &bytes)
}

/// Whether `source` names an embedded market (`belgium` or `synthetic...`), which stands alone.
fn is_embedded(source: &str) -> bool {
    source == BELGIUM || SyntheticSpec::parse(source).ok().flatten().is_some()
}

/// Loads a data source: `belgium` or `synthetic...` (alone) or one or more files merged
/// together.
pub fn load(sources: &[String]) -> Result<MarketData> {
    if let [only] = sources {
        if only == BELGIUM {
            return belgium();
        }
        if let Some(spec) = SyntheticSpec::parse(only)? {
            return spec.generate();
        }
    }
    if sources.is_empty() {
        return Err(DataError::Invalid("no data source given".into()));
    }
    if let Some(s) = sources.iter().find(|s| is_embedded(s)) {
        return Err(DataError::Invalid(format!(
            "`{s}` cannot be combined with files: an embedded market stands alone"
        )));
    }
    read_files(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_specs_parse() {
        let s = SyntheticSpec::parse("synthetic").unwrap().unwrap();
        assert_eq!((s.seed, s.minutes), (0, false));
        let s = SyntheticSpec::parse("synthetic:2023-02-01..2023-02-03:seed=9:minutes")
            .unwrap()
            .unwrap();
        assert_eq!(s.from.to_string(), "2023-02-01");
        assert_eq!(s.to.to_string(), "2023-02-03");
        assert_eq!((s.seed, s.minutes), (9, true));
        assert!(SyntheticSpec::parse("synthetic:seed=x").is_err());
        assert!(SyntheticSpec::parse("prices.csv").unwrap().is_none());
        assert!(SyntheticSpec::parse("synthetic_prices.csv")
            .unwrap()
            .is_none());
    }
}
