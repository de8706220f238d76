//! The Elia Open Data datasets imbarb reads: what each holds, how often, and which file layout
//! its export has (the reader recognises the layout from the header; a dataset whose header no
//! longer matches is schema drift, refused by name).

use imbarb_market::Format;

/// How often a dataset has a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// One row per quarter-hour.
    QuarterHour,
    /// One row per minute.
    Minute,
}

/// One Elia Open Data dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    /// The Opendatasoft dataset id (`ods047`).
    pub id: &'static str,
    /// What it holds, in Elia's words.
    pub title: &'static str,
    /// Rows per quarter-hour or per minute.
    pub resolution: Resolution,
    /// The layout the reader must recognise in its export.
    pub format: Format,
}

/// Every dataset `imbarb data fetch` knows.
pub const DATASETS: [Dataset; 8] = [
    Dataset {
        id: "ods047",
        title: "Imbalance prices per quarter-hour (historical data, up to 22/05/2024)",
        resolution: Resolution::QuarterHour,
        format: Format::EliaOds047,
    },
    Dataset {
        id: "ods134",
        title: "Imbalance prices per quarter-hour (historical data, from 22/05/2024)",
        resolution: Resolution::QuarterHour,
        format: Format::EliaQhPostMari,
    },
    Dataset {
        id: "ods162",
        title: "Imbalance prices per quarter-hour (near real-time, current day)",
        resolution: Resolution::QuarterHour,
        format: Format::EliaQhPostMari,
    },
    Dataset {
        id: "ods046",
        title: "Imbalance prices per minute (historical data, up to 22/05/2024)",
        resolution: Resolution::Minute,
        format: Format::EliaMinutePricePreMari,
    },
    Dataset {
        id: "ods133",
        title: "Imbalance prices per minute (historical data, from 22/05/2024)",
        resolution: Resolution::Minute,
        format: Format::EliaMinutePrice,
    },
    Dataset {
        id: "ods161",
        title: "Imbalance prices per minute (near real-time, current hour)",
        resolution: Resolution::Minute,
        format: Format::EliaMinutePrice,
    },
    Dataset {
        id: "ods126",
        title: "Current system imbalance per minute (historical data)",
        resolution: Resolution::Minute,
        format: Format::EliaMinuteSystemImbalance,
    },
    Dataset {
        id: "ods169",
        title: "Current system imbalance per minute (near real-time)",
        resolution: Resolution::Minute,
        format: Format::EliaMinuteSystemImbalance,
    },
];

impl Dataset {
    /// The dataset with id `id`, or an error listing the known ones.
    pub fn find(id: &str) -> Result<Dataset, String> {
        DATASETS
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(id))
            .copied()
            .ok_or_else(|| {
                let known: Vec<String> = DATASETS
                    .iter()
                    .map(|d| format!("  {}  {}", d.id, d.title))
                    .collect();
                format!(
                    "unknown dataset `{id}`; imbarb reads:\n{}",
                    known.join("\n")
                )
            })
    }
}
