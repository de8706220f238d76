//! Header recognition: maps label and identifier column names of every supported export to one
//! set of fields, and decides the file's layout from the columns present.

use crate::{DataError, Format, Market, Result};
use std::path::Path;

/// A column imbarb understands, whatever the source calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    /// Row timestamp: QH start, or the minute of a per-minute record.
    Timestamp,
    /// Start of the quarter-hour a per-minute record belongs to.
    QuarterHour,
    /// Quality status of the price.
    Quality,
    /// Resolution code (`PT15M`, `PT1M`).
    Resolution,
    /// Single imbalance price.
    Price,
    /// ods047 price for a positive (long) position.
    PositivePrice,
    /// ods047 price for a negative (short) position.
    NegativePrice,
    /// Canonical / TenneT price received by a long position (feed-in).
    PriceLong,
    /// Canonical / TenneT price paid by a short position (take-from).
    PriceShort,
    SystemImbalance,
    Nrv,
    Ace,
    Mip,
    Mdp,
    Alpha,
    AlphaPrime,
    /// Provenance of a canonical price (`..._validated` marks a validated price when the file
    /// has no quality column).
    PriceSource,
    /// Market column of canonical files (`BE` / `NL`).
    Market,
    /// Day-ahead market price of the quarter-hour (canonical day-ahead files, or a column of a
    /// canonical quarter-hour file).
    DayAheadPrice,
}

/// Lower-cases a header cell and keeps only ASCII letters and digits, spelling `'` as `prime`,
/// so `Alpha'`, `alpha_prime` and `ALPHA PRIME` all compare equal.
pub(crate) fn normalize(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    for c in cell.trim_start_matches('\u{feff}').chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '\'' || c == '\u{2019}' {
            out.push_str("prime");
        }
    }
    out
}

/// Every accepted spelling (after `normalize`) of every field.
const ALIASES: &[(&str, Field)] = &[
    ("datetime", Field::Timestamp),
    ("timestamputc", Field::Timestamp),
    ("minuteutc", Field::Timestamp),
    ("quarterhour", Field::QuarterHour),
    ("quarterhourstartutc", Field::QuarterHour),
    ("qualitystatus", Field::Quality),
    ("resolutioncode", Field::Resolution),
    ("imbalanceprice", Field::Price),
    ("imbalancepriceeurmwh", Field::Price),
    ("positiveimbalanceprice", Field::PositivePrice),
    ("negativeimbalanceprice", Field::NegativePrice),
    ("pricelongeurmwh", Field::PriceLong),
    ("pricefeedintosystemeurmwh", Field::PriceLong),
    ("priceshorteurmwh", Field::PriceShort),
    ("pricetakefromsystemeurmwh", Field::PriceShort),
    ("systemimbalance", Field::SystemImbalance),
    ("systemimbalancemw", Field::SystemImbalance),
    ("netregulationvolume", Field::Nrv),
    ("nrvmw", Field::Nrv),
    ("ace", Field::Ace),
    ("acemw", Field::Ace),
    ("marginalincrementalprice", Field::Mip),
    ("marginalincrementalpricemip", Field::Mip),
    ("mipeurmwh", Field::Mip),
    ("marginaldecrementalprice", Field::Mdp),
    ("marginaldecrementalpricemdp", Field::Mdp),
    ("mdpeurmwh", Field::Mdp),
    ("alpha", Field::Alpha),
    ("alphaeurmwh", Field::Alpha),
    ("alphaprime", Field::AlphaPrime),
    ("alphaprimeeurmwh", Field::AlphaPrime),
    ("pricesource", Field::PriceSource),
    ("market", Field::Market),
    ("dayaheadpriceeurmwh", Field::DayAheadPrice),
    ("dayaheadprice", Field::DayAheadPrice),
];

/// What each layout is recognised by, shown when a header matches none of them.
pub(crate) const EXPECTED_LAYOUTS: &str = "\
  - imbarb canonical QH CSV: timestamp_utc, imbalance_price_eur_mwh (or price_long_eur_mwh + price_short_eur_mwh), optional components, quality_status
  - imbarb canonical per-minute CSV: minute_utc, [quarter_hour_start_utc, imbalance_price_eur_mwh], components
  - Elia ods047 (QH, pre-MARI): DateTime/datetime; Quality status; Positive imbalance price; Negative imbalance price; ...
  - Elia ods134/ods162 (QH, post-MARI): Datetime; Quality status; Imbalance Price (imbalanceprice); Alpha'; ...
  - Elia ods161/ods133 (per minute, post-MARI): Datetime; Quarter hour; Quality status; Imbalance Price; ...
  - Elia ods046 (per minute, pre-MARI): datetime; quarterhour; qualitystatus; positiveimbalanceprice; negativeimbalanceprice
  - Elia per-minute system imbalance: Datetime, Resolution code, System imbalance, Net regulation volume, ...
  - TenneT NL: timestamp_utc, price_take_from_system_eur_mwh, price_feed_into_system_eur_mwh, ...
  - imbarb canonical day-ahead CSV: timestamp_utc, day_ahead_price_eur_mwh";

/// A recognised header: the layout and, for every field, the column index holding it.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub format: Format,
    pub market: Market,
    /// Column index of each field (None when absent).
    columns: [Option<usize>; FIELD_COUNT],
    /// Original header cells, for error messages.
    pub names: Vec<String>,
    /// Header cells that map to no field.
    pub ignored: Vec<String>,
    /// For canonical per-minute files without a quarter-hour column: the minute label marks the
    /// end of the minute (Elia system-imbalance convention), so records shift back one minute.
    pub minute_label_is_end: bool,
}

const FIELD_COUNT: usize = Field::DayAheadPrice as usize + 1;

impl Layout {
    /// Column index of `field`, if the header has it.
    pub fn col(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    /// Whether this layout holds day-ahead prices only (no imbalance price).
    pub fn is_day_ahead(&self) -> bool {
        self.format == Format::CanonicalDayAhead
    }

    /// Whether this layout yields per-minute records (as opposed to quarter-hours).
    pub fn is_minute(&self) -> bool {
        matches!(
            self.format,
            Format::CanonicalMinute
                | Format::EliaMinutePrice
                | Format::EliaMinutePricePreMari
                | Format::EliaMinuteSystemImbalance
        )
    }
}

/// Recognises the layout of a header row, or explains why it cannot.
pub(crate) fn detect(path: &Path, header: &[String]) -> Result<Layout> {
    let joined = header.join(",");
    let mut columns = [None; FIELD_COUNT];
    let mut ignored = Vec::new();
    let normalized: Vec<String> = header.iter().map(|h| normalize(h)).collect();
    for (i, norm) in normalized.iter().enumerate() {
        match ALIASES.iter().find(|(alias, _)| alias == norm) {
            Some((_, field)) if columns[*field as usize].is_none() => {
                columns[*field as usize] = Some(i)
            }
            _ => ignored.push(header[i].clone()),
        }
    }
    let has = |f: Field| columns[f as usize].is_some();
    let named = |n: &str| normalized.iter().any(|h| h == n);

    let unknown = || DataError::UnknownHeader {
        path: path.to_path_buf(),
        header: joined.clone(),
        expected: EXPECTED_LAYOUTS.to_string(),
    };
    let mut market = Market::BE;
    let mut minute_label_is_end = false;
    let (format, required): (Format, &[(Field, &'static str)]) = if named("timestamputc") {
        if named("pricetakefromsystemeurmwh") || named("pricefeedintosystemeurmwh") {
            market = Market::NL;
            (
                Format::TennetNl,
                &[
                    (Field::PriceShort, "price_take_from_system_eur_mwh"),
                    (Field::PriceLong, "price_feed_into_system_eur_mwh"),
                ],
            )
        } else if has(Field::DayAheadPrice) && !has(Field::Price) && !has(Field::PriceLong) {
            (
                Format::CanonicalDayAhead,
                &[(Field::DayAheadPrice, "day_ahead_price_eur_mwh")],
            )
        } else if has(Field::PriceLong) || has(Field::PriceShort) {
            (
                Format::CanonicalQh,
                &[
                    (Field::PriceLong, "price_long_eur_mwh"),
                    (Field::PriceShort, "price_short_eur_mwh"),
                ],
            )
        } else {
            (
                Format::CanonicalQh,
                &[(Field::Price, "imbalance_price_eur_mwh")],
            )
        }
    } else if named("minuteutc") {
        minute_label_is_end = !has(Field::QuarterHour);
        if !has(Field::QuarterHour) && !has(Field::SystemImbalance) && !has(Field::Price) {
            return Err(unknown());
        }
        (Format::CanonicalMinute, &[])
    } else if named("datetime") {
        if has(Field::QuarterHour) {
            if has(Field::PositivePrice) || has(Field::NegativePrice) {
                (
                    Format::EliaMinutePricePreMari,
                    &[
                        (Field::Quality, "Quality status"),
                        (Field::PositivePrice, "Positive imbalance price"),
                        (Field::NegativePrice, "Negative imbalance price"),
                    ],
                )
            } else {
                (
                    Format::EliaMinutePrice,
                    &[
                        (Field::Quality, "Quality status"),
                        (Field::Price, "Imbalance Price"),
                    ],
                )
            }
        } else if has(Field::PositivePrice) || has(Field::NegativePrice) {
            (
                Format::EliaOds047,
                &[
                    (Field::Quality, "Quality status"),
                    (Field::PositivePrice, "Positive imbalance price"),
                    (Field::NegativePrice, "Negative imbalance price"),
                ],
            )
        } else if has(Field::Price) {
            (
                Format::EliaQhPostMari,
                &[(Field::Quality, "Quality status")],
            )
        } else if has(Field::SystemImbalance) && has(Field::Resolution) {
            (Format::EliaMinuteSystemImbalance, &[])
        } else {
            return Err(unknown());
        }
    } else {
        return Err(unknown());
    };
    for (field, name) in required {
        if !has(*field) {
            return Err(DataError::MissingColumn {
                path: path.to_path_buf(),
                format: format.describe(),
                column: name,
                header: joined,
            });
        }
    }
    Ok(Layout {
        format,
        market,
        columns,
        names: header.to_vec(),
        ignored,
        minute_label_is_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(s: &str, sep: char) -> Vec<String> {
        s.split(sep).map(str::to_string).collect()
    }

    #[test]
    fn ods047_labels_and_identifiers_give_the_same_layout() {
        let labels = cells("\u{feff}DateTime;Quality status;Resolution code;Net regulation volume;System imbalance;Alpha;Marginal incremental price;Marginal decremental price;Strategic reserve price;Positive imbalance price;Negative imbalance price", ';');
        let ids = cells("datetime,qualitystatus,resolutioncode,netregulationvolume,systemimbalance,alpha,marginalincrementalprice,marginaldecrementalprice,strategicreserveprice,positiveimbalanceprice,negativeimbalanceprice", ',');
        let a = detect(Path::new("a"), &labels).unwrap();
        let b = detect(Path::new("b"), &ids).unwrap();
        assert_eq!(a.format, Format::EliaOds047);
        assert_eq!(b.format, Format::EliaOds047);
        assert_eq!(a.columns, b.columns);
        assert_eq!(a.col(Field::Nrv), Some(3));
        assert_eq!(a.ignored, vec!["Strategic reserve price".to_string()]);
    }

    #[test]
    fn post_mari_layouts_are_told_apart() {
        let qh = cells("Datetime;Resolution code;Quality status;ACE;System imbalance;Alpha;Alpha';Marginal incremental price;Marginal decremental price;Imbalance Price", ';');
        let l = detect(Path::new("x"), &qh).unwrap();
        assert_eq!(l.format, Format::EliaQhPostMari);
        assert_eq!(l.col(Field::AlphaPrime), Some(6));
        let ids = cells("datetime,resolutioncode,quarterhour,qualitystatus,ace,systemimbalance,alpha,alpha_prime,marginalincrementalprice,marginaldecrementalprice,imbalanceprice", ',');
        assert_eq!(
            detect(Path::new("x"), &ids).unwrap().format,
            Format::EliaMinutePrice
        );
        let ods046 = cells("datetime,resolutioncode,quarterhour,qualitystatus,netregulationvolume,systemimbalance,alpha,marginalincrementalprice,marginaldecrementalprice,positiveimbalanceprice,negativeimbalanceprice", ',');
        assert_eq!(
            detect(Path::new("x"), &ods046).unwrap().format,
            Format::EliaMinutePricePreMari
        );
    }

    #[test]
    fn missing_and_unknown_columns_are_explained() {
        let h = cells("DateTime;Quality status;Positive imbalance price", ';');
        let err = detect(Path::new("f.csv"), &h).unwrap_err().to_string();
        assert!(
            err.contains("f.csv") && err.contains("Negative imbalance price"),
            "{err}"
        );
        let h = cells("when,price", ',');
        let err = detect(Path::new("g.csv"), &h).unwrap_err().to_string();
        assert!(err.contains("g.csv") && err.contains("when,price"), "{err}");
        assert!(err.contains("ods047") && err.contains("TenneT"), "{err}");
    }
}
