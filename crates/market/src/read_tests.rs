//! Tests of `read.rs`.

use super::parse_timestamp_fast;
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
