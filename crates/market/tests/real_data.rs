//! Reading every real file in ../shared/data, and cross-checks between raw Elia exports and the
//! canonical files derived from them.

use imbarb_market::calendar::{local_day, qhs_in_day};
use imbarb_market::write::{canonical_minute_csv, canonical_qh_csv};
use imbarb_market::*;
use imbarb_util::testdata::require_shared_data;
use std::path::PathBuf;

const COMBINED: &str = "elia_be_imbalance_qh_2022-07_2023-08_combined.csv";
const ODS047: &str = "elia_be_imbalance_qh_2023-01_2023-05_ods047.csv";
const RAW_ODS047: &str = "raw/elia_ods047_export_2023-01_2023-05.csv";
const ODS161_SAMPLES: &str =
    "elia_be_imbalance_price_minute_ods161_samples_2024-09-06_2025-04-08.csv";
const TENNET: &str = "tennet_nl_imbalance_qh_2024-01_2024-03.csv";

fn data(test: &str) -> Option<PathBuf> {
    require_shared_data(test)
}

/// Asserts two record lists are equal, reporting the first difference rather than both lists.
fn assert_same<T: PartialEq + std::fmt::Debug>(a: &[T], b: &[T], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("{what}: record {i} differs:\n{:?}\n{:?}", a[i], b[i]);
    }
}

/// Every file of the shared folder loads: the imbalance-price files with prices or estimates,
/// the day-ahead series (`be_day_ahead_*`) with day-ahead prices only.
#[test]
fn every_shared_file_loads() {
    let Some(dir) = data("every_shared_file_loads") else {
        return;
    };
    let (mut n, mut day_ahead) = (0, 0);
    for sub in [dir.clone(), dir.join("raw")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "csv") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let d = read_file(&path).unwrap_or_else(|e| panic!("{e}"));
            if name.starts_with("be_day_ahead_") {
                assert!(d.qh.is_empty() && d.minutes.is_empty() && !d.day_ahead.is_empty());
                day_ahead += 1;
                continue;
            }
            assert!(
                !d.qh.is_empty() || !d.minutes.is_empty(),
                "{}",
                path.display()
            );
            assert_eq!(d.meta.sources[0].sha256.len(), 64);
            n += 1;
        }
    }
    assert_eq!(n, 11, "expected the 7 derived and 4 raw files");
    assert_eq!(day_ahead, 1, "the 2024 day-ahead series");
}

/// The 2024 day-ahead file as its README describes it: 35,120 quarter-hours from
/// 2023-12-31T23:00Z to 2024-12-31T22:45Z, hourly prices (each repeated over its four
/// quarter-hours), and exactly two 2-hour gaps on the clock-change nights, which `data inspect`
/// names. Read beside the post-MARI prices, both series share the 2024 quarter-hours.
#[test]
fn day_ahead_file_reads_with_its_two_clock_change_gaps() {
    let Some(dir) = data("day_ahead_file_reads_with_its_two_clock_change_gaps") else {
        return;
    };
    let d = read_file(dir.join("be_day_ahead_price_qh_2024.csv")).unwrap();
    assert_eq!(d.meta.sources[0].format, Format::CanonicalDayAhead);
    assert_eq!(d.day_ahead.len(), 35_120);
    let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(d.day_ahead[0].start_utc, t("2023-12-31T23:00:00Z"));
    assert_eq!(
        d.day_ahead.last().unwrap().start_utc,
        t("2024-12-31T22:45:00Z")
    );
    for hour in d
        .day_ahead
        .chunk_by(|a, b| a.start_utc.timestamp() / 3600 == b.start_utc.timestamp() / 3600)
    {
        assert!(hour.iter().all(|r| r.eur_per_mwh == hour[0].eur_per_mwh));
    }
    let summary = imbarb_market::summary::DataSummary::of(&d);
    let gaps = summary.day_ahead.as_ref().unwrap().gaps.clone();
    assert_eq!(
        gaps,
        vec![
            (t("2024-03-31T00:00:00Z"), 8),
            (t("2024-10-27T00:00:00Z"), 8)
        ]
    );
    assert!(summary
        .render_text()
        .contains("8 QH from 2024-10-27 00:00:00 UTC"));
    let both = imbarb_market::read_files(&[
        dir.join("elia_be_imbalance_qh_2024-05_2024-12_postmari.csv"),
        dir.join("be_day_ahead_price_qh_2024.csv"),
    ])
    .unwrap();
    assert_eq!((both.qh.len(), both.day_ahead.len()), (21_508, 35_120));
    let covered = both
        .qh
        .iter()
        .filter(|r| {
            both.day_ahead
                .binary_search_by_key(&r.start_utc, |x| x.start_utc)
                .is_ok()
        })
        .count();
    assert_eq!(covered, 21_508 - 8, "all but the autumn clock-change gap");
}

#[test]
fn raw_ods047_export_equals_canonical_ods047() {
    let Some(dir) = data("raw_ods047_export_equals_canonical_ods047") else {
        return;
    };
    let raw = read_file(dir.join(RAW_ODS047)).unwrap();
    let canon = read_file(dir.join(ODS047)).unwrap();
    assert_eq!(raw.meta.sources[0].format, Format::EliaOds047);
    assert_eq!(canon.meta.sources[0].format, Format::CanonicalQh);
    assert_eq!(raw.qh.len(), 13_650);
    assert_eq!(raw.qh.len(), canon.qh.len());
    for (a, b) in raw.qh.iter().zip(&canon.qh) {
        assert_eq!(a.start_utc, b.start_utc);
        assert_eq!(a.price, b.price, "{}", a.start_utc);
        assert_eq!(a.quality, b.quality, "{}", a.start_utc);
        assert!(a.components.same_as(&b.components), "{}", a.start_utc);
    }
    // Newest-first input comes out ascending, starting at local midnight of 2023-01-01.
    assert_eq!(
        raw.qh[0].start_utc.to_rfc3339(),
        "2022-12-31T23:00:00+00:00"
    );
    let validated = raw
        .qh
        .iter()
        .filter(|r| r.quality == Quality::Validated)
        .count();
    assert_eq!(validated, 11_516);
    // Single pricing checked on the data: price = MIP + alpha when short, MDP - alpha when long.
    for r in raw.qh.iter().filter(|r| r.quality == Quality::Validated) {
        let c = &r.components;
        let si = c.get(Component::SystemImbalanceMw).unwrap();
        let alpha = c.get(Component::AlphaEurPerMwh).unwrap();
        let expect = if si < 0.0 {
            c.get(Component::MipEurPerMwh).unwrap() + alpha
        } else {
            c.get(Component::MdpEurPerMwh).unwrap() - alpha
        };
        assert!(
            (r.price.reference_eur_per_mwh() - expect).abs() < 0.011,
            "{}",
            r.start_utc
        );
    }
}

#[test]
fn raw_minute_exports_equal_their_canonical_files() {
    let Some(dir) = data("raw_minute_exports_equal_their_canonical_files") else {
        return;
    };
    let raw = read_files(&[
        dir.join("raw/elia_ods161_export_2024-09-06.csv"),
        dir.join("raw/elia_ods161_export_2025-04-08.csv"),
    ])
    .unwrap();
    let canon = read_file(dir.join(ODS161_SAMPLES)).unwrap();
    assert_eq!(raw.minutes.len(), 1_639);
    assert_same(&raw.minutes, &canon.minutes, "ods161");
    assert!(raw.minutes.iter().any(|m| m.quality == Quality::DataIssue));
    assert!(raw.minutes.iter().all(|m| m.minute_in_qh() < 15));

    let si_raw = read_file(dir.join("raw/elia_si_minute_export_2023-01-01.csv")).unwrap();
    let si_canon = read_file(dir.join("elia_be_si_nrv_minute_2023-01-01.csv")).unwrap();
    assert_eq!(
        si_raw.meta.sources[0].format,
        Format::EliaMinuteSystemImbalance
    );
    assert_eq!(si_raw.minutes.len(), 1_440);
    assert_same(&si_raw.minutes, &si_canon.minutes, "SI");
    // The label marks the end of the minute: label 00:00 local is the last minute of the day before.
    assert_eq!(
        si_raw.minutes[0].minute_utc.to_rfc3339(),
        "2022-12-31T22:59:00+00:00"
    );
}

#[test]
fn combined_file_coverage_and_dst() {
    let Some(dir) = data("combined_file_coverage_and_dst") else {
        return;
    };
    let d = read_file(dir.join(COMBINED)).unwrap();
    assert_eq!(d.qh.len(), 40_048);
    let cov = Coverage::of(&d);
    assert_eq!(cov.qh_missing, 8);
    assert_eq!(cov.gaps.len(), 1);
    assert_eq!(
        cov.gaps[0].from_utc.to_rfc3339(),
        "2022-10-30T00:00:00+00:00"
    );
    let excluded: Vec<String> = cov
        .incomplete_days
        .iter()
        .map(|d| d.day.to_string())
        .collect();
    assert_eq!(excluded, ["2022-07-10", "2022-10-30", "2023-08-31"]);
    let spring = "2023-03-26".parse().unwrap();
    assert!(cov.complete_days.contains(&spring));
    assert_eq!(
        d.qh.iter()
            .filter(|r| local_day(r.start_utc) == spring)
            .count(),
        qhs_in_day(spring)
    );
    assert_eq!(
        d.qh.iter()
            .filter(|r| r.quality == Quality::Validated)
            .count(),
        11_516,
        "rows marked ods047_validated in price_source"
    );
    // Every complete day lands in exactly one split.
    let splits = DaySplits::new(&cov, &SplitSpec::Paper);
    let total = splits.train.len() + splits.validation.len() + splits.test.len();
    assert_eq!(total, cov.complete_days.len());
    assert!(splits.unassigned.is_empty());
    for day in &cov.complete_days {
        let hits = [Split::Train, Split::Validation, Split::Test]
            .iter()
            .filter(|s| splits.days(**s).contains(day))
            .count();
        assert_eq!(hits, 1, "{day}");
    }
}

#[test]
fn tennet_file_is_dual_priced() {
    let Some(dir) = data("tennet_file_is_dual_priced") else {
        return;
    };
    let d = read_file(dir.join(TENNET)).unwrap();
    assert_eq!(d.meta.market, Market::NL);
    assert_eq!(d.meta.pricing, Pricing::Dual);
    assert_eq!(d.qh.len(), 8_828);
    let dual = d.qh.iter().filter(|r| r.price.is_dual()).count() as f64 / d.qh.len() as f64;
    assert!((dual - 0.119).abs() < 0.005, "dual share {dual}");
    // Long positions receive the feed-in price, short positions pay the take-from price.
    let first = &d.qh[0];
    assert_eq!(first.price.long_eur_per_mwh(), -46.72);
    assert_eq!(first.price.short_eur_per_mwh(), 83.22);
    // Mixing markets is refused.
    let e = read_files(&[dir.join(TENNET), dir.join(ODS047)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("different markets"), "{e}");
}

#[test]
fn canonical_round_trips_are_exact() {
    let Some(dir) = data("canonical_round_trips_are_exact") else {
        return;
    };
    for f in [RAW_ODS047, COMBINED, TENNET] {
        let d = read_file(dir.join(f)).unwrap();
        let again = read_bytes("roundtrip.csv", canonical_qh_csv(&d).as_bytes()).unwrap();
        assert_same(&d.qh, &again.qh, f);
        assert_eq!(d.meta.market, again.meta.market, "{f}");
        assert_eq!(d.meta.pricing, again.meta.pricing, "{f}");
    }
    for f in [ODS161_SAMPLES, "raw/elia_si_minute_export_2023-01-01.csv"] {
        let d = read_file(dir.join(f)).unwrap();
        let again = read_bytes("roundtrip.csv", canonical_minute_csv(&d).as_bytes()).unwrap();
        assert_same(&d.minutes, &again.minutes, f);
    }
}

/// Returns the raw ods047 export's text with `edit` applied to its data line `n` (1-based after
/// the header).
fn edited_ods047(dir: &std::path::Path, n: usize, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(dir.join(RAW_ODS047)).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| if i == n { edit(l) } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bad_cells_are_reported_with_file_line_column_and_text() {
    let Some(dir) = data("bad_cells_are_reported") else {
        return;
    };
    // Line 5 of the file: replace the positive imbalance price (column 10) with text.
    let text = edited_ods047(&dir, 4, |l| {
        let mut cells: Vec<&str> = l.split(';').collect();
        cells[9] = "12,5x";
        cells.join(";")
    });
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ods047.csv"), "{e}");
    assert!(e.contains("line 5"), "{e}");
    assert!(e.contains("column 10 `Positive imbalance price`"), "{e}");
    assert!(e.contains("`12,5x`"), "{e}");

    let text = edited_ods047(&dir, 7, |l| l.replacen("+02:00", "+02:0x", 1));
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 8") && e.contains("DateTime") && e.contains("+02:0x"),
        "{e}"
    );

    let text = edited_ods047(&dir, 3, |l| l.replace("Not Validated", "Maybe"));
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 4") && e.contains("Quality status") && e.contains("Maybe"),
        "{e}"
    );

    let text = edited_ods047(&dir, 2, |l| l.rsplitn(3, ';').nth(2).unwrap().to_string());
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 3") && e.contains("expected 11 fields") && e.contains("found 9"),
        "{e}"
    );

    let text = edited_ods047(&dir, 0, |l| {
        l.replace(";Negative imbalance price", ";Other")
    });
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing column `Negative imbalance price`"),
        "{e}"
    );

    let text = edited_ods047(&dir, 0, |l| l.replace("DateTime", "Moment"));
    let e = read_bytes("ods047.csv", text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unrecognised header") && e.contains("Moment"),
        "{e}"
    );
    assert!(e.contains("Elia ods047") && e.contains("canonical"), "{e}");
}

#[test]
fn duplicates_keep_the_validated_row_else_fail() {
    let Some(dir) = data("duplicates_keep_the_validated_row") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join(RAW_ODS047)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // A validated row (far down the file) duplicated as "Not Validated" with another price.
    let validated = lines
        .iter()
        .rposition(|l| l.contains(";Validated;"))
        .unwrap();
    let mut cells: Vec<String> = lines[validated].split(';').map(str::to_string).collect();
    cells[1] = "Not Validated".into();
    cells[9] = "999.99".into();
    cells[10] = "999.99".into();
    let mut with_dup = lines.clone();
    let dup = cells.join(";");
    with_dup.insert(5, &dup);
    let d = read_bytes("dup.csv", with_dup.join("\n").as_bytes()).unwrap();
    assert_eq!(d.qh.len(), 13_650);
    assert_eq!(d.meta.duplicates_dropped, 1);
    assert!(d
        .qh
        .iter()
        .all(|r| r.price.reference_eur_per_mwh() != 999.99));

    // Two different non-validated rows for one quarter-hour: an error naming both lines.
    let mut cells: Vec<String> = lines[1].split(';').map(str::to_string).collect();
    cells[9] = "1.0".into();
    cells[10] = "1.0".into();
    let dup = cells.join(";");
    let mut bad = lines.clone();
    bad.insert(3, &dup);
    let e = read_bytes("dup.csv", bad.join("\n").as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("duplicate quarter-hour 2023-05-23T03:15:00+00:00"),
        "{e}"
    );
    assert!(e.contains("line 2") && e.contains("line 4"), "{e}");

    // An exact copy is harmless.
    let mut copy = lines.clone();
    copy.insert(2, lines[1]);
    let d = read_bytes("dup.csv", copy.join("\n").as_bytes()).unwrap();
    assert_eq!(d.qh.len(), 13_650);
}

#[test]
fn merging_validated_and_not_validated_exports() {
    let Some(dir) = data("merging_exports") else {
        return;
    };
    // Only Jan-Apr 2023 is validated in ods047. Its May rows are Not Validated and 22 % differ
    // from the combined file, whose rows there are not marked validated either: merging refuses,
    // naming the first conflict (local 2023-05-01 00:00).
    let e = read_files(&[dir.join(ODS047), dir.join(COMBINED)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("duplicate quarter-hour 2023-04-30T22:00:00+00:00"),
        "{e}"
    );
    assert!(e.contains("line 11518") && e.contains("line 28251"), "{e}");
    // Jan-Apr overlap alone is validated on both sides and identical.
    let jan_apr: String = std::fs::read_to_string(dir.join(ODS047))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("timestamp") || l.contains(",Validated"))
        .collect::<Vec<_>>()
        .join("\n");
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("jan_apr.csv");
    std::fs::write(&p, jan_apr).unwrap();
    let d = read_files(&[p, dir.join(COMBINED)]).unwrap();
    assert_eq!(d.qh.len(), 40_048);
    assert_eq!(d.meta.duplicates_dropped, 11_516);
}
