//! The market-data model: quarter-hour settlement records, per-minute running estimates, and the
//! `MarketData` container every other crate reads.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Publication status of a record, as the TSO labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Quality {
    /// Final, validated by the TSO (Elia validates month M after the 15th of M+1).
    Validated,
    /// Published but not (yet) validated; may still change.
    NotValidated,
    /// Flagged by the TSO as affected by a data issue.
    DataIssue,
}

impl Quality {
    /// Parses the quality labels seen in Elia and canonical files (`Validated`, `Not Validated`,
    /// `NV`, `DataIssue`, `Data issue`), case- and space-insensitively.
    pub fn parse(text: &str) -> Option<Quality> {
        // Fast path for the exact spellings in real files (no allocation per row).
        match text {
            "Validated" => return Some(Quality::Validated),
            "Not Validated" | "NV" => return Some(Quality::NotValidated),
            "DataIssue" => return Some(Quality::DataIssue),
            _ => {}
        }
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "validated" | "v" => Some(Quality::Validated),
            "notvalidated" | "nv" | "nonvalidated" => Some(Quality::NotValidated),
            "dataissue" => Some(Quality::DataIssue),
            _ => None,
        }
    }

    /// The canonical label written to canonical CSV files.
    pub fn label(self) -> &'static str {
        match self {
            Quality::Validated => "Validated",
            Quality::NotValidated => "Not Validated",
            Quality::DataIssue => "DataIssue",
        }
    }
}

/// Which market a series belongs to; decides the settlement rules downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Market {
    /// Belgium (Elia), single imbalance price.
    BE,
    /// The Netherlands (TenneT), dual price when the regulation state is "both".
    NL,
}

impl Market {
    /// Parses `BE` / `NL` (case-insensitive).
    pub fn parse(text: &str) -> Option<Market> {
        match text.trim().to_ascii_uppercase().as_str() {
            "BE" => Some(Market::BE),
            "NL" => Some(Market::NL),
            _ => None,
        }
    }
}

/// Whether long and short positions settle at one price or at two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pricing {
    /// One price for long and short positions (Belgium).
    Single,
    /// A long position earns one price, a short position pays another (Netherlands).
    Dual,
}

/// The settlement price of one quarter-hour, EUR/MWh.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum QhPrice {
    /// Same price for long and short positions.
    Single(f64),
    /// Long positions receive `long_eur_per_mwh` (TenneT: feed-in price); short positions pay
    /// `short_eur_per_mwh` (TenneT: take-from price).
    Dual {
        /// Price received per MWh by a long (injecting) position.
        long_eur_per_mwh: f64,
        /// Price paid per MWh by a short (withdrawing) position.
        short_eur_per_mwh: f64,
    },
}

impl QhPrice {
    /// Builds a price from the long and short legs, collapsing to `Single` when they are equal.
    pub fn from_legs(long_eur_per_mwh: f64, short_eur_per_mwh: f64) -> QhPrice {
        if long_eur_per_mwh == short_eur_per_mwh {
            QhPrice::Single(long_eur_per_mwh)
        } else {
            QhPrice::Dual {
                long_eur_per_mwh,
                short_eur_per_mwh,
            }
        }
    }

    /// Price a long (discharging) position receives, EUR/MWh.
    pub fn long_eur_per_mwh(&self) -> f64 {
        match *self {
            QhPrice::Single(p) => p,
            QhPrice::Dual {
                long_eur_per_mwh, ..
            } => long_eur_per_mwh,
        }
    }

    /// Price a short (charging) position pays, EUR/MWh.
    pub fn short_eur_per_mwh(&self) -> f64 {
        match *self {
            QhPrice::Single(p) => p,
            QhPrice::Dual {
                short_eur_per_mwh, ..
            } => short_eur_per_mwh,
        }
    }

    /// One representative price: the single price, or the mean of both legs. Used for statistics
    /// and features, never for settlement.
    pub fn reference_eur_per_mwh(&self) -> f64 {
        match *self {
            QhPrice::Single(p) => p,
            QhPrice::Dual {
                long_eur_per_mwh,
                short_eur_per_mwh,
            } => 0.5 * (long_eur_per_mwh + short_eur_per_mwh),
        }
    }

    /// True when this quarter-hour has two different prices.
    pub fn is_dual(&self) -> bool {
        matches!(self, QhPrice::Dual { .. })
    }
}

/// A system component published beside a price (Elia ods047/ods134 and per-minute exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Component {
    /// System imbalance, MW; positive = system long.
    SystemImbalanceMw,
    /// Net regulation volume (upward minus downward activations), MW.
    NrvMw,
    /// Area control error, MW (post-MARI datasets).
    AceMw,
    /// Marginal incremental price, EUR/MWh.
    MipEurPerMwh,
    /// Marginal decremental price, EUR/MWh.
    MdpEurPerMwh,
    /// Alpha incentive component, EUR/MWh (>= 0).
    AlphaEurPerMwh,
    /// Alpha' component introduced with MARI (2024-05-22), EUR/MWh.
    AlphaPrimeEurPerMwh,
}

impl Component {
    /// All components, in storage order.
    pub const ALL: [Component; 7] = [
        Component::SystemImbalanceMw,
        Component::NrvMw,
        Component::AceMw,
        Component::MipEurPerMwh,
        Component::MdpEurPerMwh,
        Component::AlphaEurPerMwh,
        Component::AlphaPrimeEurPerMwh,
    ];

    /// Column name in canonical CSV files.
    pub fn canonical_name(self) -> &'static str {
        match self {
            Component::SystemImbalanceMw => "system_imbalance_mw",
            Component::NrvMw => "nrv_mw",
            Component::AceMw => "ace_mw",
            Component::MipEurPerMwh => "mip_eur_mwh",
            Component::MdpEurPerMwh => "mdp_eur_mwh",
            Component::AlphaEurPerMwh => "alpha_eur_mwh",
            Component::AlphaPrimeEurPerMwh => "alpha_prime_eur_mwh",
        }
    }
}

/// The optional system components of one record. Stored as NaN-for-missing `f64`s (8 bytes each
/// instead of 16 for `Option<f64>`) to keep a million per-minute rows well under 3x the file
/// size in memory; read them through `get`, which returns `Option`.
#[derive(Debug, Clone, Copy)]
pub struct Components {
    values: [f64; 7],
}

impl Default for Components {
    fn default() -> Self {
        Components {
            values: [f64::NAN; 7],
        }
    }
}

impl PartialEq for Components {
    /// Missing equals missing (unlike NaN's own comparison).
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

impl Components {
    /// The value of one component, `None` where the source published none.
    pub fn get(&self, c: Component) -> Option<f64> {
        let v = self.values[c as usize];
        (!v.is_nan()).then_some(v)
    }

    /// Sets (or clears, with `None`) one component. Non-finite values are stored as missing.
    pub fn set(&mut self, c: Component, value: Option<f64>) {
        self.values[c as usize] = value.filter(|v| v.is_finite()).unwrap_or(f64::NAN);
    }

    /// True when the two hold the same values (missing equals missing).
    pub fn same_as(&self, other: &Components) -> bool {
        self.values
            .iter()
            .zip(other.values.iter())
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
    }

    /// True when no component is present.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(|v| v.is_nan())
    }
}

/// One settled quarter-hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QhRecord {
    /// Start of the quarter-hour, UTC.
    pub start_utc: DateTime<Utc>,
    /// Final settlement price.
    pub price: QhPrice,
    /// System components, where published.
    pub components: Components,
    /// Publication status of the price.
    pub quality: Quality,
}

/// One per-minute running estimate: the TSO's estimate of the current quarter-hour, computed
/// with everything up to the end of `minute_utc`'s minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinuteRecord {
    /// The minute as labelled by the source (Elia: the minute at the end of which the estimate was
    /// computed; it is public from `minute_utc + 1 min`).
    pub minute_utc: DateTime<Utc>,
    /// Start of the quarter-hour this estimate belongs to, UTC.
    pub qh_start_utc: DateTime<Utc>,
    /// Running estimate of the quarter-hour's price, EUR/MWh (`None` for system-imbalance-only
    /// exports or empty cells).
    pub price_estimate_eur_per_mwh: Option<f64>,
    /// Running estimates of the components.
    pub components: Components,
    /// Publication status.
    pub quality: Quality,
}

impl MinuteRecord {
    /// Minute index inside its quarter-hour, 0..=14.
    pub fn minute_in_qh(&self) -> u32 {
        ((self.minute_utc - self.qh_start_utc).num_minutes()).clamp(0, 14) as u32
    }
}

/// The day-ahead market price of one quarter-hour (hourly products repeat over their four
/// quarter-hours). Known the day before: day D's curve is published on D-1 (SDAC: about 12:45
/// Brussels); the features apply that rule (`ObservationConfig::day_ahead_published_at`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayAheadPrice {
    /// Start of the quarter-hour, UTC.
    pub start_utc: DateTime<Utc>,
    /// Day-ahead price, EUR/MWh.
    pub eur_per_mwh: f64,
}

/// The layout a file was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// imbarb's canonical quarter-hour CSV (`timestamp_utc`, `imbalance_price_eur_mwh`, ...).
    CanonicalQh,
    /// imbarb's canonical per-minute CSV (`minute_utc`, `quarter_hour_start_utc`, ...).
    CanonicalMinute,
    /// imbarb's canonical day-ahead CSV (`timestamp_utc`, `day_ahead_price_eur_mwh`).
    CanonicalDayAhead,
    /// Elia ods047: quarter-hour prices before MARI (positive / negative imbalance price).
    EliaOds047,
    /// Elia ods134 / ods162: quarter-hour prices after MARI (`imbalanceprice`, `alpha_prime`).
    EliaQhPostMari,
    /// Elia ods161 / ods133: per-minute running price estimates after MARI.
    EliaMinutePrice,
    /// Elia ods046: per-minute running price estimates before MARI (inferred layout).
    EliaMinutePricePreMari,
    /// Elia per-minute system-imbalance export (pre-MARI, probably ods045).
    EliaMinuteSystemImbalance,
    /// TenneT NL settlement prices (dual price), in the UTC layout of `../shared/data`.
    TennetNl,
    /// Generated by imbarb's synthetic market; never real data.
    Synthetic,
}

impl Format {
    /// A short human-readable description used in reports and error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::CanonicalQh => "imbarb canonical quarter-hour CSV",
            Format::CanonicalMinute => "imbarb canonical per-minute CSV",
            Format::CanonicalDayAhead => "imbarb canonical day-ahead prices",
            Format::EliaOds047 => "Elia ods047 quarter-hour prices (pre-MARI)",
            Format::EliaQhPostMari => "Elia ods134/ods162 quarter-hour prices (post-MARI)",
            Format::EliaMinutePrice => "Elia ods161/ods133 per-minute price estimates (post-MARI)",
            Format::EliaMinutePricePreMari => "Elia ods046 per-minute price estimates (pre-MARI)",
            Format::EliaMinuteSystemImbalance => "Elia per-minute system imbalance export",
            Format::TennetNl => "TenneT NL settlement prices (dual price)",
            Format::Synthetic => "imbarb synthetic market (NOT real data)",
        }
    }
}

/// Where a part of a `MarketData` came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as given by the user (or a `synthetic:` description).
    pub path: String,
    /// Recognised layout.
    pub format: Format,
    /// SHA-256 of the file's bytes (or of the generator parameters and seed), hex.
    pub sha256: String,
    /// Data rows read (header excluded).
    pub rows: usize,
    /// Header columns that the format does not use (kept out of the model, listed for the user).
    pub ignored_columns: Vec<String>,
}

/// Metadata describing a `MarketData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Market the prices come from.
    pub market: Market,
    /// Single or dual pricing (dual as soon as one quarter-hour has two prices).
    pub pricing: Pricing,
    /// Files (or generator runs) the data was built from.
    pub sources: Vec<SourceFile>,
    /// True when any part was produced by the synthetic generator.
    pub synthetic: bool,
    /// Duplicated rows dropped while merging (identical copies, or the non-validated side of a
    /// validated / not-validated pair).
    pub duplicates_dropped: usize,
}

/// Quarter-hour prices plus optional per-minute running estimates, sorted by time, without
/// duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketData {
    /// Quarter-hour records, ascending by `start_utc`, unique.
    pub qh: Vec<QhRecord>,
    /// Per-minute records, ascending by (`qh_start_utc`, `minute_utc`), unique.
    pub minutes: Vec<MinuteRecord>,
    /// Day-ahead prices per quarter-hour, ascending by `start_utc`, unique (empty without a
    /// day-ahead file). Kept whole by `published_before`: the curve is published a day ahead,
    /// and the features apply the publication rule.
    pub day_ahead: Vec<DayAheadPrice>,
    /// Market, pricing and provenance.
    pub meta: Metadata,
}

impl MarketData {
    /// A combined SHA-256 over all sources' hashes: the data hash recorded in run manifests.
    pub fn data_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for s in &self.meta.sources {
            hasher.update(s.sha256.as_bytes());
            hasher.update(b"\n");
        }
        hex(&hasher.finalize())
    }

    /// How many quarter-hours and running estimates had been published before `at`: a
    /// quarter-hour's final price from its end on, an estimate from the end of its minute on.
    /// Both lists are chronological, so what was published is a prefix of each.
    pub fn published_counts(&self, at: DateTime<Utc>) -> (usize, usize) {
        let qh = self
            .qh
            .partition_point(|r| r.start_utc + TimeDelta::minutes(15) <= at);
        let minutes = self
            .minutes
            .partition_point(|r| r.minute_utc + TimeDelta::minutes(1) <= at);
        (qh, minutes)
    }

    /// What had been published before `at` (see `published_counts`).
    pub fn published_before(&self, at: DateTime<Utc>) -> MarketData {
        let (qh, minutes) = self.published_counts(at);
        MarketData {
            qh: self.qh[..qh].to_vec(),
            minutes: self.minutes[..minutes].to_vec(),
            day_ahead: self.day_ahead.clone(),
            meta: self.meta.clone(),
        }
    }

    /// The quarter-hours starting in `[from, to)` and the running estimates of those
    /// quarter-hours, with the day-ahead prices from `from` to two days after `to` (a decision
    /// looks ahead on the day-ahead curve): the recent window a decision reads, without copying
    /// the whole history.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> MarketData {
        let qh = self.qh.partition_point(|r| r.start_utc < from)
            ..self.qh.partition_point(|r| r.start_utc < to);
        let minutes = self.minutes.partition_point(|r| r.qh_start_utc < from)
            ..self.minutes.partition_point(|r| r.qh_start_utc < to);
        let ahead_end = to + TimeDelta::days(2);
        let day_ahead = self.day_ahead.partition_point(|r| r.start_utc < from)
            ..self.day_ahead.partition_point(|r| r.start_utc < ahead_end);
        MarketData {
            qh: self.qh[qh].to_vec(),
            minutes: self.minutes[minutes].to_vec(),
            day_ahead: self.day_ahead[day_ahead].to_vec(),
            meta: self.meta.clone(),
        }
    }

    /// Index of the quarter-hour starting at `start_utc`, if present.
    pub fn qh_index(&self, start_utc: DateTime<Utc>) -> Option<usize> {
        self.qh
            .binary_search_by_key(&start_utc, |r| r.start_utc)
            .ok()
    }
}

/// Lower-case hex encoding of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published before 10:30: the quarter-hours that ended by then and the estimates computed
    /// in minutes that ended by then; `between` keeps the quarter-hours starting in the window
    /// and their estimates.
    #[test]
    fn published_prefixes_and_windows() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let csv = "timestamp_utc,imbalance_price_eur_mwh\n2023-01-01T10:00:00Z,1\n\
                   2023-01-01T10:15:00Z,2\n2023-01-01T10:30:00Z,3\n";
        let mut data = crate::read_bytes("t.csv", csv.as_bytes()).unwrap();
        data.minutes = (0..20)
            .map(|m| MinuteRecord {
                minute_utc: t("2023-01-01T10:15:00Z") + TimeDelta::minutes(m),
                qh_start_utc: if m < 15 {
                    t("2023-01-01T10:15:00Z")
                } else {
                    t("2023-01-01T10:30:00Z")
                },
                price_estimate_eur_per_mwh: Some(m as f64),
                components: Components::default(),
                quality: Quality::Validated,
            })
            .collect();
        assert_eq!(data.published_counts(t("2023-01-01T10:30:00Z")), (2, 15));
        assert_eq!(data.published_counts(t("2023-01-01T10:29:59Z")), (1, 14));
        let p = data.published_before(t("2023-01-01T10:32:00Z"));
        assert_eq!((p.qh.len(), p.minutes.len()), (2, 17));
        let w = data.between(t("2023-01-01T10:15:00Z"), t("2023-01-01T10:30:00Z"));
        assert_eq!((w.qh.len(), w.minutes.len()), (1, 15));
        assert_eq!(w.qh[0].start_utc, t("2023-01-01T10:15:00Z"));
    }
}
