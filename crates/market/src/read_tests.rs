//! Tests of `read.rs`.

use super::{parse_timestamp_fast, read_bytes};
use crate::Format;
use chrono::{DateTime, Utc};

#[test]
fn fast_timestamp_parser_agrees_with_chrono() {
    for s in [
        "2023-05-23T05:15:00+02:00",
        "2022-12-31T23:00:00Z",
        "2024-01-01T00:00:00+00:00",
        "2023-03-26T03:00:00+02:00",
        "2022-10-30T02:45:00+01:00",
        "2021-06-30T12:34:56-05:30",
    ] {
        let chrono: DateTime<Utc> = DateTime::parse_from_rfc3339(s).unwrap().into();
        assert_eq!(parse_timestamp_fast(s.as_bytes()), Some(chrono), "{s}");
    }
    for s in [
        "2023-02-30T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01 00:00:00Z",
        "2023-01-01T00:00:00.5Z",
        "2023-01-01T00:00:00+0100",
        "2023-01-01T00:00:00+25:00",
        "2023-01-01T00:00:00",
        "2023-01-0aT00:00:00Z",
    ] {
        assert_eq!(parse_timestamp_fast(s.as_bytes()), None, "{s}");
    }
}

/// Day-ahead prices: a canonical day-ahead file reads into `day_ahead` only; the column also
/// rides along in a canonical quarter-hour file; a bad cell names file, line and column; two
/// files giving one quarter-hour different day-ahead prices are a conflict naming both.
#[test]
fn day_ahead_files_read_merge_and_refuse_conflicts() {
    let da = "timestamp_utc,day_ahead_price_eur_mwh\n2024-06-01T00:00:00Z,50.5\n\
              2024-06-01T00:15:00Z,\n2024-06-01T00:30:00Z,-3\n";
    let d = read_bytes("da.csv", da.as_bytes()).unwrap();
    assert_eq!(d.meta.sources[0].format, Format::CanonicalDayAhead);
    assert!(d.qh.is_empty());
    let values: Vec<f64> = d.day_ahead.iter().map(|r| r.eur_per_mwh).collect();
    assert_eq!(
        values,
        vec![50.5, -3.0],
        "an empty cell is a gap, not a zero"
    );

    let both = "timestamp_utc,imbalance_price_eur_mwh,day_ahead_price_eur_mwh\n\
                2024-06-01T00:00:00Z,80,50.5\n";
    let d = read_bytes("qh.csv", both.as_bytes()).unwrap();
    assert_eq!((d.qh.len(), d.day_ahead.len()), (1, 1));

    let bad = "timestamp_utc,day_ahead_price_eur_mwh\n2024-06-01T00:00:00Z,cheap\n";
    let e = read_bytes("bad.csv", bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv") && e.contains("line 2") && e.contains("day_ahead_price_eur_mwh"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&a, da).unwrap();
    std::fs::write(&b, da.replace("50.5", "51")).unwrap();
    let e = crate::read_files(&[&a, &b]).unwrap_err().to_string();
    assert!(
        e.contains("day-ahead price") && e.contains("a.csv") && e.contains("b.csv"),
        "{e}"
    );
    let same = crate::read_files(&[&a, &a]).unwrap();
    assert_eq!(same.day_ahead.len(), 2, "identical copies collapse");
}
