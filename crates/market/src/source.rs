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

/// A data source as a user names it, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The embedded real Belgian prices (`belgium`).
    Belgium,
    /// The embedded synthetic market (`synthetic[:FROM..TO][:seed=N][:minutes]`).
    Synthetic(SyntheticSpec),
    /// A file in any supported layout.
    File(std::path::PathBuf),
}

impl std::str::FromStr for DataSource {
    type Err = DataError;
    fn from_str(text: &str) -> Result<DataSource> {
        if text == BELGIUM {
            return Ok(DataSource::Belgium);
        }
        Ok(match SyntheticSpec::parse(text)? {
            Some(spec) => DataSource::Synthetic(spec),
            None => DataSource::File(text.into()),
        })
    }
}

/// The text a user writes for the source (and configs record).
impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSource::Belgium => f.write_str(BELGIUM),
            DataSource::Synthetic(s) => {
                write!(f, "synthetic:{}..{}:seed={}", s.from, s.to, s.seed)?;
                if s.minutes {
                    f.write_str(":minutes")?;
                }
                Ok(())
            }
            DataSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Parses data sources as written (`belgium`, `synthetic...` or file paths).
pub fn parse_sources(sources: &[String]) -> Result<Vec<DataSource>> {
    sources.iter().map(|s| s.parse()).collect()
}

/// Loads data sources: `belgium` or `synthetic...` (alone) or one or more files merged together.
pub fn load_sources(sources: &[DataSource]) -> Result<MarketData> {
    match sources {
        [] => Err(DataError::Invalid("no data source given".into())),
        [DataSource::Belgium] => belgium(),
        [DataSource::Synthetic(spec)] => spec.generate(),
        _ => {
            let mut files = vec![];
            for s in sources {
                match s {
                    DataSource::File(p) => files.push(p.clone()),
                    embedded => {
                        return Err(DataError::Invalid(format!(
                            "`{embedded}` cannot be combined with other sources: an embedded market stands alone"
                        )))
                    }
                }
            }
            read_files(&files)
        }
    }
}

/// Loads data sources as written (see `load_sources`).
pub fn load(sources: &[String]) -> Result<MarketData> {
    load_sources(&parse_sources(sources)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sources_round_trip_through_their_text() {
        for text in [
            "belgium",
            "synthetic:2023-02-01..2023-02-03:seed=9:minutes",
            "prices.csv",
        ] {
            let source: DataSource = text.parse().unwrap();
            assert_eq!(source.to_string(), text);
        }
        assert_eq!(
            "belgium".parse::<DataSource>().unwrap(),
            DataSource::Belgium
        );
        assert!(matches!("synthetic".parse(), Ok(DataSource::Synthetic(_))));
        assert!("synthetic:seed=x".parse::<DataSource>().is_err());
    }

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
