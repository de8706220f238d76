//! `data fetch`: a dataset's rows over a span of Brussels days, window by window, merged into a
//! canonical CSV file that is rewritten (atomically) after each window. Re-running the same span
//! changes nothing; an interrupted run resumes, skipping the windows the file already holds
//! whole and validated; a row published again replaces the file's, except that a validated row
//! is never replaced by a not-validated one.

use crate::client::EliaClient;
use crate::datasets::{Dataset, Resolution};
use crate::error::FetchError;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use imbarb_market::calendar::day_start_utc;
use imbarb_market::write::{canonical_minute_csv, canonical_qh_csv};
use imbarb_market::{read_bytes, read_file, MarketData, MinuteRecord, Pricing, QhRecord, Quality};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to fetch, and where to.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The dataset.
    pub dataset: Dataset,
    /// First Brussels day.
    pub from: NaiveDate,
    /// Last Brussels day (included).
    pub to: NaiveDate,
    /// The canonical CSV to create or extend.
    pub out: PathBuf,
}

/// What one window did.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDone {
    /// Window start and end (UTC, end excluded).
    pub from: DateTime<Utc>,
    /// Window end.
    pub to: DateTime<Utc>,
    /// Rows the export held (0 when skipped).
    pub rows: usize,
    /// Whether the file already held the window whole and validated.
    pub skipped: bool,
}

/// What a fetch did in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchReport {
    /// Windows requested from the API.
    pub fetched: usize,
    /// Windows the file already held whole and validated.
    pub skipped: usize,
    /// Rows new to the file.
    pub added: usize,
    /// Rows whose values or status changed (a revision, or the validated version arriving).
    pub replaced: usize,
    /// Rows in the file afterwards.
    pub total: usize,
}

/// One row of either resolution, keyed by its time.
#[derive(Clone, PartialEq)]
enum Row {
    Qh(QhRecord),
    Minute(MinuteRecord),
}

impl Row {
    fn quality(&self) -> Quality {
        match self {
            Row::Qh(r) => r.quality,
            Row::Minute(r) => r.quality,
        }
    }
}

/// Rows by (quarter-hour start, minute); quarter-hour rows use their start twice.
type Rows = BTreeMap<(DateTime<Utc>, DateTime<Utc>), Row>;

fn rows_of(data: MarketData) -> Rows {
    let qh = data
        .qh
        .into_iter()
        .map(|r| ((r.start_utc, r.start_utc), Row::Qh(r)));
    let minutes = data
        .minutes
        .into_iter()
        .map(|r| ((r.qh_start_utc, r.minute_utc), Row::Minute(r)));
    qh.chain(minutes).collect()
}

/// The windows of `from..=to`: calendar months for quarter-hour datasets, days for per-minute
/// ones (a window's export stays a few thousand rows), clipped to the span.
pub fn windows(
    resolution: Resolution,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = vec![];
    let mut day = from;
    while day <= to {
        let next = match resolution {
            Resolution::Minute => day.succ_opt(),
            Resolution::QuarterHour => {
                let (y, m) = if day.month() == 12 {
                    (day.year() + 1, 1)
                } else {
                    (day.year(), day.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
            }
        };
        let Some(next) = next else { break };
        let end = next.min(to.succ_opt().unwrap_or(next));
        out.push((day_start_utc(day), day_start_utc(end)));
        day = next;
    }
    out
}

/// Fetches `request`, telling `on_window` of each window as it completes.
pub fn fetch(
    client: &EliaClient,
    request: &FetchRequest,
    on_window: &dyn Fn(&WindowDone),
) -> Result<FetchReport, FetchError> {
    let d = request.dataset;
    if request.from > request.to {
        return Err(FetchError::Request(format!(
            "--from {} is after --to {}",
            request.from, request.to
        )));
    }
    let out_name = request.out.display().to_string();
    let mut rows: Rows = if request.out.exists() {
        let data = read_file(&request.out).map_err(|e| FetchError::Output {
            path: out_name.clone(),
            detail: format!("exists but cannot be extended: {e}"),
        })?;
        let minute_file = !data.minutes.is_empty();
        if !(data.qh.is_empty() && data.minutes.is_empty())
            && minute_file != (d.resolution == Resolution::Minute)
        {
            return Err(FetchError::Output {
                path: out_name,
                detail: format!(
                    "holds {} rows; {} has {} rows: write it to another file",
                    if minute_file {
                        "per-minute"
                    } else {
                        "quarter-hour"
                    },
                    d.id,
                    if minute_file {
                        "quarter-hour"
                    } else {
                        "per-minute"
                    }
                ),
            });
        }
        rows_of(data)
    } else {
        Rows::new()
    };
    let step = match d.resolution {
        Resolution::QuarterHour => TimeDelta::minutes(15),
        Resolution::Minute => TimeDelta::minutes(1),
    };
    let mut report = FetchReport::default();
    for (from, to) in windows(d.resolution, request.from, request.to) {
        let held: Vec<&Row> = rows.range((from, from)..(to, to)).map(|(_, r)| r).collect();
        let expected = ((to - from).num_seconds() / step.num_seconds()) as usize;
        let whole =
            held.len() >= expected && held.iter().all(|r| r.quality() == Quality::Validated);
        if whole {
            report.skipped += 1;
            on_window(&WindowDone {
                from,
                to,
                rows: 0,
                skipped: true,
            });
            continue;
        }
        let body = client.export_csv(&d, from, to)?;
        let name = format!("{} {}", d.id, client.export_url(&d));
        let data = read_bytes(&name, &body).map_err(|e| FetchError::Schema {
            dataset: d.id,
            detail: e.to_string(),
        })?;
        if let Some(source) = data.meta.sources.first() {
            if source.format != d.format {
                return Err(FetchError::Schema {
                    dataset: d.id,
                    detail: format!(
                        "expected {}, the export reads as {}",
                        d.format.describe(),
                        source.format.describe()
                    ),
                });
            }
        }
        let mut n = 0;
        for (key, row) in rows_of(data) {
            if key.1 < from || key.1 >= to {
                continue;
            }
            n += 1;
            match rows.get(&key) {
                None => {
                    report.added += 1;
                    rows.insert(key, row);
                }
                Some(old) if old == &row => {}
                Some(old)
                    if old.quality() == Quality::Validated
                        && row.quality() != Quality::Validated => {}
                Some(_) => {
                    report.replaced += 1;
                    rows.insert(key, row);
                }
            }
        }
        report.fetched += 1;
        write(&request.out, &rows)?;
        on_window(&WindowDone {
            from,
            to,
            rows: n,
            skipped: false,
        });
    }
    if report.fetched == 0 && !request.out.exists() {
        write(&request.out, &rows)?;
    }
    report.total = rows.len();
    Ok(report)
}

/// Writes `rows` as canonical CSV, atomically.
fn write(path: &std::path::Path, rows: &Rows) -> Result<(), FetchError> {
    let mut data = MarketData {
        qh: vec![],
        minutes: vec![],
        day_ahead: vec![],
        meta: imbarb_market::Metadata {
            market: imbarb_market::Market::BE,
            pricing: Pricing::Single,
            sources: vec![],
            synthetic: false,
            duplicates_dropped: 0,
        },
    };
    for row in rows.values() {
        match row {
            Row::Qh(r) => data.qh.push(*r),
            Row::Minute(r) => data.minutes.push(*r),
        }
    }
    if data.qh.iter().any(|r| r.price.is_dual()) {
        data.meta.pricing = Pricing::Dual;
    }
    let text = if data.minutes.is_empty() {
        canonical_qh_csv(&data)
    } else {
        canonical_minute_csv(&data)
    };
    Ok(imbarb_util::fs::write_atomic(path, text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Months for quarter-hours, days for minutes, clipped to the span, each from Brussels
    /// midnight to Brussels midnight in UTC (23 h on the spring-forward day).
    #[test]
    fn windows_cover_the_span_once() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let w = windows(Resolution::QuarterHour, d("2023-01-15"), d("2023-03-31"));
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0.to_string(), "2023-01-14 23:00:00 UTC");
        assert_eq!(w[0].1.to_string(), "2023-01-31 23:00:00 UTC");
        assert_eq!(w[2].1.to_string(), "2023-03-31 22:00:00 UTC");
        for p in w.windows(2) {
            assert_eq!(p[0].1, p[1].0);
        }
        let m = windows(Resolution::Minute, d("2023-03-25"), d("2023-03-27"));
        assert_eq!(m.len(), 3);
        assert_eq!((m[1].1 - m[1].0).num_hours(), 23);
        assert!(windows(Resolution::Minute, d("2023-03-27"), d("2023-03-25")).is_empty());
    }
}
