//! A readable summary of a `MarketData` (what `imbarb data inspect` prints): period, rows, days,
//! gaps, duplicates, price statistics and quality counts.

use crate::stats::{PriceStats, ACF_LAGS, QUANTILE_LEVELS};
use crate::{Coverage, Market, MarketData, Pricing, Quality, SourceFile};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Summary of the per-minute part.
#[derive(Debug, Clone, Serialize)]
pub struct MinuteSummary {
    /// Per-minute rows.
    pub rows: usize,
    /// First minute, UTC.
    pub first_utc: Option<DateTime<Utc>>,
    /// Last minute, UTC.
    pub last_utc: Option<DateTime<Utc>>,
    /// Distinct quarter-hours with at least one minute.
    pub quarter_hours: usize,
    /// Quarter-hours with all 15 minutes.
    pub complete_quarter_hours: usize,
    /// Rows carrying a running price estimate.
    pub with_price_estimate: usize,
    /// Rows per quality status.
    pub quality: BTreeMap<String, usize>,
}

/// Summary of the day-ahead part: its period and the quarter-hours missing inside it.
#[derive(Debug, Clone, Serialize)]
pub struct DayAheadSummary {
    /// Day-ahead prices.
    pub rows: usize,
    /// First quarter-hour, UTC.
    pub first_utc: Option<DateTime<Utc>>,
    /// Last quarter-hour, UTC.
    pub last_utc: Option<DateTime<Utc>>,
    /// Runs of missing quarter-hours between the first and the last: (first missing start UTC,
    /// quarter-hours missing).
    pub gaps: Vec<(DateTime<Utc>, usize)>,
}

impl DayAheadSummary {
    /// The day-ahead part of `data`, `None` without one.
    pub fn of(data: &MarketData) -> Option<DayAheadSummary> {
        let (first, last) = (data.day_ahead.first()?, data.day_ahead.last()?);
        let gaps = data
            .day_ahead
            .windows(2)
            .filter_map(|w| {
                let missing = (w[1].start_utc - w[0].start_utc).num_minutes() / 15 - 1;
                (missing > 0).then(|| {
                    (
                        w[0].start_utc + chrono::TimeDelta::minutes(15),
                        missing as usize,
                    )
                })
            })
            .collect();
        Some(DayAheadSummary {
            rows: data.day_ahead.len(),
            first_utc: Some(first.start_utc),
            last_utc: Some(last.start_utc),
            gaps,
        })
    }
}

/// Everything `data inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DataSummary {
    /// Where the data came from.
    pub sources: Vec<SourceFile>,
    /// Market.
    pub market: Market,
    /// Single or dual pricing.
    pub pricing: Pricing,
    /// True for generated (not real) data.
    pub synthetic: bool,
    /// Gaps and complete days.
    pub coverage: Coverage,
    /// Duplicated rows dropped while reading.
    pub duplicates_dropped: usize,
    /// Quarter-hours per quality status.
    pub quality: BTreeMap<String, usize>,
    /// Quarter-hours with two different prices.
    pub dual_price_quarter_hours: usize,
    /// Price statistics (reference price), when there are quarter-hours.
    pub price: Option<PriceStats>,
    /// Per-minute part, when present.
    pub minutes: Option<MinuteSummary>,
    /// Day-ahead part, when present.
    pub day_ahead: Option<DayAheadSummary>,
    /// Quarter-hours whose price lies beyond a plausibility bound (readable, but suspect).
    pub implausible: Implausible,
}

/// The default plausibility bound of `data inspect`, EUR/MWh: about Elia's own price caps.
pub const PLAUSIBLE_PRICE_EUR_PER_MWH: f64 = 15_000.0;

/// Prices beyond a plausibility bound: worth a look before training on them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Implausible {
    /// The bound, EUR/MWh (either sign).
    pub bound_eur_per_mwh: f64,
    /// Quarter-hours with a price (either side) beyond it.
    pub quarter_hours: usize,
    /// The first few of them (UTC starts).
    pub first_utc: Vec<DateTime<Utc>>,
}

impl Implausible {
    /// The quarter-hours of `data` priced beyond `bound` EUR/MWh.
    pub fn of(data: &MarketData, bound: f64) -> Implausible {
        let beyond: Vec<DateTime<Utc>> = data
            .qh
            .iter()
            .filter(|r| {
                r.price.long_eur_per_mwh().abs() > bound
                    || r.price.short_eur_per_mwh().abs() > bound
            })
            .map(|r| r.start_utc)
            .collect();
        Implausible {
            bound_eur_per_mwh: bound,
            quarter_hours: beyond.len(),
            first_utc: beyond.into_iter().take(5).collect(),
        }
    }
}

fn quality_counts(q: impl Iterator<Item = Quality>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for x in q {
        *m.entry(x.label().to_string()).or_default() += 1;
    }
    m
}

impl DataSummary {
    /// Summarises `data`.
    pub fn of(data: &MarketData) -> DataSummary {
        let minutes = (!data.minutes.is_empty()).then(|| {
            let groups: Vec<usize> = data
                .minutes
                .chunk_by(|a, b| a.qh_start_utc == b.qh_start_utc)
                .map(<[_]>::len)
                .collect();
            MinuteSummary {
                rows: data.minutes.len(),
                first_utc: data.minutes.first().map(|m| m.minute_utc),
                last_utc: data.minutes.last().map(|m| m.minute_utc),
                quarter_hours: groups.len(),
                complete_quarter_hours: groups.iter().filter(|&&n| n == 15).count(),
                with_price_estimate: data
                    .minutes
                    .iter()
                    .filter(|m| m.price_estimate_eur_per_mwh.is_some())
                    .count(),
                quality: quality_counts(data.minutes.iter().map(|m| m.quality)),
            }
        });
        DataSummary {
            sources: data.meta.sources.clone(),
            market: data.meta.market,
            pricing: data.meta.pricing,
            synthetic: data.meta.synthetic,
            coverage: Coverage::of(data),
            duplicates_dropped: data.meta.duplicates_dropped,
            quality: quality_counts(data.qh.iter().map(|r| r.quality)),
            dual_price_quarter_hours: data.qh.iter().filter(|r| r.price.is_dual()).count(),
            price: PriceStats::of(&data.qh),
            minutes,
            day_ahead: DayAheadSummary::of(data),
            implausible: Implausible::of(data, PLAUSIBLE_PRICE_EUR_PER_MWH),
        }
    }

    /// Renders the summary as plain text for a terminal.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        if self.synthetic {
            let _ = writeln!(
                o,
                "SYNTHETIC DATA: generated by imbarb, not real market prices"
            );
        }
        for s in &self.sources {
            let _ = writeln!(
                o,
                "source   {}\n         {} | {} rows | sha256 {}",
                s.path,
                s.format.describe(),
                s.rows,
                &s.sha256[..16.min(s.sha256.len())]
            );
            if !s.ignored_columns.is_empty() {
                let _ = writeln!(
                    o,
                    "         ignored columns: {}",
                    s.ignored_columns.join(", ")
                );
            }
        }
        let _ = writeln!(o, "market   {:?}, {:?} pricing", self.market, self.pricing);
        let c = &self.coverage;
        if let (Some(a), Some(b)) = (c.first_utc, c.last_utc) {
            let _ = writeln!(o, "period   {a} .. {b} (quarter-hour starts, UTC)");
            let _ = writeln!(
                o,
                "rows     {} quarter-hours, {} missing in {} gap(s), {} duplicate row(s) dropped",
                c.qh_present,
                c.qh_missing,
                c.gaps.len(),
                self.duplicates_dropped
            );
            let _ = writeln!(
                o,
                "days     {} complete, {} incomplete (excluded from episodes)",
                c.complete_days.len(),
                c.incomplete_days.len()
            );
            let hist: Vec<String> = c
                .qhs_per_day
                .iter()
                .map(|(q, d)| format!("{q} QH: {d} day(s)"))
                .collect();
            let _ = writeln!(o, "QH/day   {}", hist.join(", "));
            for g in c.gaps.iter().take(10) {
                let _ = writeln!(
                    o,
                    "gap      {} .. {} ({} QH)",
                    g.from_utc, g.to_utc, g.missing
                );
            }
            if c.gaps.len() > 10 {
                let _ = writeln!(
                    o,
                    "gap      ... and {} more (see --json)",
                    c.gaps.len() - 10
                );
            }
            for d in c.incomplete_days.iter().take(10) {
                let _ = writeln!(o, "excluded {} ({}/{} QH)", d.day, d.present, d.expected);
            }
            if c.incomplete_days.len() > 10 {
                let _ = writeln!(
                    o,
                    "excluded ... and {} more days (see --json)",
                    c.incomplete_days.len() - 10
                );
            }
            let q: Vec<String> = self
                .quality
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(o, "quality  {}", q.join(", "));
            if self.dual_price_quarter_hours > 0 {
                let _ = writeln!(
                    o,
                    "dual     {} quarter-hours with two prices",
                    self.dual_price_quarter_hours
                );
            }
        } else {
            let _ = writeln!(o, "rows     no quarter-hour prices");
        }
        let bad = &self.implausible;
        if bad.quarter_hours > 0 {
            let first: Vec<String> = bad.first_utc.iter().map(|t| t.to_string()).collect();
            let _ = writeln!(
                o,
                "WARNING  {} quarter-hour(s) priced beyond ±{} EUR/MWh (first: {}): check the unit and the export",
                bad.quarter_hours,
                bad.bound_eur_per_mwh,
                first.join(", ")
            );
        }
        if let Some(p) = &self.price {
            let _ = writeln!(
                o,
                "price    mean {:.2}  std {:.2}  min {:.2}  max {:.2} EUR/MWh",
                p.mean, p.std, p.min, p.max
            );
            let qs: Vec<String> = QUANTILE_LEVELS
                .iter()
                .zip(p.quantiles)
                .map(|(l, q)| format!("p{:.0} {q:.2}", l * 100.0))
                .collect();
            let _ = writeln!(o, "         {}", qs.join("  "));
            let _ = writeln!(o, "         negative {:.1} %", p.negative_share * 100.0);
            let acf: Vec<String> = ACF_LAGS
                .iter()
                .zip(p.acf)
                .map(|(l, a)| format!("lag {l}: {a:.3}"))
                .collect();
            let _ = writeln!(o, "autocorr {}", acf.join(", "));
        }
        if let Some(m) = &self.minutes {
            let _ = writeln!(
                o,
                "minutes  {} rows, {} .. {}, {} quarter-hours ({} with all 15 minutes), {} with a price estimate",
                m.rows,
                m.first_utc.map(|t| t.to_string()).unwrap_or_default(),
                m.last_utc.map(|t| t.to_string()).unwrap_or_default(),
                m.quarter_hours,
                m.complete_quarter_hours,
                m.with_price_estimate
            );
            let q: Vec<String> = m.quality.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let _ = writeln!(o, "         quality {}", q.join(", "));
        }
        if let Some(d) = &self.day_ahead {
            let show = |t: Option<DateTime<Utc>>| t.map(|t| t.to_string()).unwrap_or_default();
            let gaps: Vec<String> = d
                .gaps
                .iter()
                .map(|(t, n)| format!("{n} QH from {t}"))
                .collect();
            let _ = writeln!(
                o,
                "day-ahead {} quarter-hours, {} .. {}, gaps: {}",
                d.rows,
                show(d.first_utc),
                show(d.last_utc),
                if gaps.is_empty() {
                    "none".to_string()
                } else {
                    gaps.join(", ")
                }
            );
        }
        o
    }
}
