//! Coverage of a series: gaps in the 15-minute UTC grid and which Brussels days are complete.
//! Days with gaps are excluded from episodes; this module says which and why.

use crate::calendar::{local_day, qhs_in_day, QH_SECONDS};
use crate::MarketData;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A run of missing quarter-hours inside the series' span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// First missing quarter-hour start, UTC.
    pub from_utc: DateTime<Utc>,
    /// Last missing quarter-hour start, UTC.
    pub to_utc: DateTime<Utc>,
    /// Number of missing quarter-hours.
    pub missing: usize,
}

/// A local day without all of its quarter-hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncompleteDay {
    /// Brussels calendar day.
    pub day: NaiveDate,
    /// Quarter-hours present.
    pub present: usize,
    /// Quarter-hours the day has (92, 96 or 100).
    pub expected: usize,
}

/// Completeness report of a `MarketData`'s quarter-hour series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// First quarter-hour start, UTC.
    pub first_utc: Option<DateTime<Utc>>,
    /// Last quarter-hour start, UTC.
    pub last_utc: Option<DateTime<Utc>>,
    /// Quarter-hours with a price.
    pub qh_present: usize,
    /// Quarter-hours missing between the first and the last one.
    pub qh_missing: usize,
    /// The missing runs.
    pub gaps: Vec<Gap>,
    /// Days that have every quarter-hour: the days usable as episodes.
    pub complete_days: Vec<NaiveDate>,
    /// Days touched by the series that miss quarter-hours (including partial first/last days).
    pub incomplete_days: Vec<IncompleteDay>,
    /// Histogram: quarter-hours present per day -> number of days.
    pub qhs_per_day: BTreeMap<usize, usize>,
}

impl Coverage {
    /// Computes gaps and day completeness of `data`'s quarter-hour series.
    pub fn of(data: &MarketData) -> Coverage {
        let mut gaps = Vec::new();
        for w in data.qh.windows(2) {
            let step = (w[1].start_utc - w[0].start_utc).num_seconds() / QH_SECONDS;
            if step > 1 {
                gaps.push(Gap {
                    from_utc: w[0].start_utc + TimeDelta::seconds(QH_SECONDS),
                    to_utc: w[1].start_utc - TimeDelta::seconds(QH_SECONDS),
                    missing: (step - 1) as usize,
                });
            }
        }
        let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for r in &data.qh {
            *per_day.entry(local_day(r.start_utc)).or_default() += 1;
        }
        let mut complete_days = Vec::new();
        let mut incomplete_days = Vec::new();
        let mut qhs_per_day = BTreeMap::new();
        if let (Some(&first), Some(&last)) = (per_day.keys().next(), per_day.keys().last()) {
            for day in crate::calendar::days_inclusive(first, last) {
                let present = per_day.get(&day).copied().unwrap_or(0);
                let expected = qhs_in_day(day);
                *qhs_per_day.entry(present).or_default() += 1;
                if present == expected {
                    complete_days.push(day);
                } else {
                    incomplete_days.push(IncompleteDay {
                        day,
                        present,
                        expected,
                    });
                }
            }
        }
        Coverage {
            first_utc: data.qh.first().map(|r| r.start_utc),
            last_utc: data.qh.last().map(|r| r.start_utc),
            qh_present: data.qh.len(),
            qh_missing: gaps.iter().map(|g| g.missing).sum(),
            gaps,
            complete_days,
            incomplete_days,
            qhs_per_day,
        }
    }
}
