//! Many parsed files into one `MarketData`: sorting, de-duplication with the validated row
//! winning, and conflicts named by file and line. Split from `read` (which parses one file).

use crate::error::{DataError, Result};
use crate::read::ParsedFile;
use crate::types::*;
use chrono::{DateTime, Utc};
use std::path::PathBuf;

fn qh_same(a: &QhRecord, b: &QhRecord) -> bool {
    a.price == b.price && a.quality == b.quality && a.components.same_as(&b.components)
}

fn minute_same(a: &MinuteRecord, b: &MinuteRecord) -> bool {
    a.price_estimate_eur_per_mwh == b.price_estimate_eur_per_mwh
        && a.quality == b.quality
        && a.components.same_as(&b.components)
}

/// Where a record came from, for duplicate errors: (file index, line).
type Origin = (u32, u64);

/// Sorts records by key and removes duplicates in place: identical rows collapse, otherwise the
/// single Validated row wins, otherwise it is an error.
fn sort_dedup<T: Copy, K: Ord + Copy>(
    records: &mut Vec<T>,
    origins: &mut Vec<Origin>,
    key: impl Fn(&T) -> K,
    same: impl Fn(&T, &T) -> bool,
    quality: impl Fn(&T) -> Quality,
    on_conflict: impl Fn(&T, Origin, Origin) -> DataError,
) -> Result<usize> {
    let sorted = records.windows(2).all(|w| key(&w[0]) <= key(&w[1]));
    if !sorted {
        let reversed = records.windows(2).all(|w| key(&w[0]) >= key(&w[1]));
        if reversed {
            // Elia exports are newest first: reversing in place keeps memory flat.
            records.reverse();
            origins.reverse();
        } else {
            let mut order: Vec<u32> = (0..records.len() as u32).collect();
            order.sort_by_key(|&i| (key(&records[i as usize]), origins[i as usize]));
            *records = order.iter().map(|&i| records[i as usize]).collect();
            *origins = order.iter().map(|&i| origins[i as usize]).collect();
        }
    }
    let mut write = 0usize;
    let mut read = 0usize;
    while read < records.len() {
        let mut end = read + 1;
        while end < records.len() && key(&records[end]) == key(&records[read]) {
            end += 1;
        }
        let group = read..end;
        let mut keep = read;
        if end - read > 1 && !group.clone().all(|i| same(&records[i], &records[read])) {
            let validated: Vec<usize> = group
                .clone()
                .filter(|&i| quality(&records[i]) == Quality::Validated)
                .collect();
            let one_winner = !validated.is_empty()
                && validated
                    .iter()
                    .all(|&i| same(&records[i], &records[validated[0]]));
            if !one_winner {
                let other = group
                    .clone()
                    .find(|&i| !same(&records[i], &records[read]))
                    .unwrap_or(read);
                return Err(on_conflict(&records[read], origins[read], origins[other]));
            }
            keep = validated[0];
        }
        records[write] = records[keep];
        origins[write] = origins[keep];
        write += 1;
        read = end;
    }
    let dropped = records.len() - write;
    records.truncate(write);
    origins.truncate(write);
    Ok(dropped)
}

/// Merges parsed files into one market: records sorted and de-duplicated across files (a
/// validated row wins over a not-validated one; any other conflict is an error naming both
/// files and lines), one market, single or dual pricing.
pub(crate) fn merge(files: Vec<ParsedFile>) -> Result<MarketData> {
    let Some(first) = files.first() else {
        return Err(DataError::Invalid("no input files".into()));
    };
    let market = first.market;
    for f in &files {
        if f.market != market {
            return Err(DataError::MixedMarkets {
                path_a: first.path.clone(),
                market_a: market,
                path_b: f.path.clone(),
                market_b: f.market,
            });
        }
    }
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let mut sources = Vec::with_capacity(files.len());
    let (mut qh, mut qh_origin, mut minutes, mut minute_origin) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut day_ahead, mut day_ahead_origin) = (Vec::new(), Vec::new());
    let single = files.len() == 1;
    let synthetic = files.iter().any(|f| f.synthetic);
    for (i, f) in files.into_iter().enumerate() {
        sources.push(f.source);
        let tag =
            |lines: Vec<u64>| -> Vec<Origin> { lines.into_iter().map(|l| (i as u32, l)).collect() };
        if single {
            // Move, don't copy: one file needs no concatenation.
            qh = f.qh;
            minutes = f.minutes;
            day_ahead = f.day_ahead;
        } else {
            qh.extend_from_slice(&f.qh);
            minutes.extend_from_slice(&f.minutes);
            day_ahead.extend_from_slice(&f.day_ahead);
        }
        qh_origin.extend(tag(f.qh_lines));
        minute_origin.extend(tag(f.minute_lines));
        day_ahead_origin.extend(tag(f.day_ahead_lines));
    }
    let conflict =
        |what: &'static str, t: DateTime<Utc>, a: Origin, b: Origin| DataError::Duplicate {
            what,
            timestamp: t.to_rfc3339(),
            path_a: paths[a.0 as usize].clone(),
            line_a: a.1,
            path_b: paths[b.0 as usize].clone(),
            line_b: b.1,
        };
    let dropped_qh = sort_dedup(
        &mut qh,
        &mut qh_origin,
        |r: &QhRecord| r.start_utc,
        qh_same,
        |r| r.quality,
        |r, a, b| conflict("quarter-hour", r.start_utc, a, b),
    )?;
    let dropped_minutes = sort_dedup(
        &mut minutes,
        &mut minute_origin,
        |r: &MinuteRecord| (r.qh_start_utc, r.minute_utc),
        minute_same,
        |r| r.quality,
        |r, a, b| conflict("minute", r.minute_utc, a, b),
    )?;
    // Day-ahead prices carry no quality status: any two different values for one quarter-hour
    // are a conflict.
    let dropped_day_ahead = sort_dedup(
        &mut day_ahead,
        &mut day_ahead_origin,
        |r: &DayAheadPrice| r.start_utc,
        |a, b| a.eur_per_mwh == b.eur_per_mwh,
        |_| Quality::NotValidated,
        |r, a, b| conflict("day-ahead price", r.start_utc, a, b),
    )?;
    let pricing = if qh.iter().any(|r| r.price.is_dual()) || market == Market::NL {
        Pricing::Dual
    } else {
        Pricing::Single
    };
    Ok(MarketData {
        qh,
        minutes,
        day_ahead,
        meta: Metadata {
            market,
            pricing,
            sources,
            synthetic,
            duplicates_dropped: dropped_qh + dropped_minutes + dropped_day_ahead,
        },
    })
}
