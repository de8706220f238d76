//! The Elia client against a local stand-in for opendata.elia.be serving a real ods047 export
//! (issue #23): paging by windows across a DST change, the same file as `data convert`,
//! idempotent re-runs and resumes, retries on 5xx / 429 / cut bodies, clear errors on 4xx and on
//! schema drift, empty windows, and validated rows replacing not-validated ones.

mod common;

use chrono::NaiveDate;
use common::{Scripted, Server};
use imbarb_fetch::{
    fetch, ClientConfig, Dataset, EliaClient, FetchError, FetchRequest, RetryPolicy,
};
use imbarb_market::calendar::day_start_utc;
use imbarb_market::write::canonical_qh_csv;
use std::time::{Duration, Instant};

fn client(base: &str, attempts: u32) -> EliaClient {
    EliaClient::new(ClientConfig {
        base_url: base.to_string(),
        timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            attempts,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
    })
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn request(from: &str, to: &str, out: &std::path::Path) -> FetchRequest {
    FetchRequest {
        dataset: Dataset::find("ods047").unwrap(),
        from: day(from),
        to: day(to),
        out: out.to_path_buf(),
    }
}

/// What `data convert` makes of the raw export, cut to the Brussels days `from..=to`.
fn converted(from: &str, to: &str) -> String {
    let raw = imbarb_util::testdata::shared_data_dir()
        .unwrap()
        .join("raw/elia_ods047_export_2023-01_2023-05.csv");
    let mut data = imbarb_market::read_file(&raw).unwrap();
    let (a, b) = (
        day_start_utc(day(from)),
        day_start_utc(day(to).succ_opt().unwrap()),
    );
    data.qh.retain(|r| r.start_utc >= a && r.start_utc < b);
    canonical_qh_csv(&data)
}

#[test]
fn a_fetch_pages_by_month_across_dst_and_equals_convert() {
    let Some(server) = Server::ods047("a_fetch_pages_by_month_across_dst_and_equals_convert")
    else {
        return;
    };
    let base = server.start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ods047.csv");
    let req = request("2023-02-20", "2023-04-05", &out);
    let report = fetch(&client(&base, 3), &req, &|_| {}).unwrap();
    // February, March (with the spring-forward day) and April: three windows, one request each.
    assert_eq!((report.fetched, report.skipped), (3, 0));
    assert_eq!(server.requests(), 3);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, converted("2023-02-20", "2023-04-05"));
    assert_eq!(report.total, text.lines().count() - 1);
    assert_eq!(report.total, 9 * 96 + 31 * 96 - 4 + 5 * 96);
    for (filter, agent) in server.seen.lock().unwrap().iter() {
        assert!(filter.contains("datetime >= date'"), "{filter}");
        assert!(agent.starts_with("imbarb/"), "{agent}");
    }
    // Again: every window is held whole and validated, so nothing is asked and nothing changes.
    let again = fetch(&client(&base, 3), &req, &|_| {}).unwrap();
    assert_eq!((again.fetched, again.skipped, again.added), (0, 3, 0));
    assert_eq!(server.requests(), 3);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn transient_failures_are_retried_and_retry_after_is_honoured() {
    let Some(server) = Server::ods047("transient_failures_are_retried") else {
        return;
    };
    let base = server.start();
    server.script(&[
        Scripted::Status(503, "maintenance".into()),
        Scripted::TooMany(1),
        Scripted::Truncated,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jan.csv");
    let started = Instant::now();
    let report = fetch(
        &client(&base, 5),
        &request("2023-01-10", "2023-01-11", &out),
        &|_| {},
    )
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
    assert_eq!(server.requests(), 4);
    assert_eq!(report.added, 2 * 96);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        converted("2023-01-10", "2023-01-11")
    );

    // Always failing: it gives up after its tries, naming the URL and the last failure.
    server.script(&vec![Scripted::Status(502, String::new()); 3]);
    let other = dir.path().join("other.csv");
    let e = fetch(
        &client(&base, 3),
        &request("2023-01-10", "2023-01-10", &other),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(e, FetchError::GaveUp { attempts: 3, .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("/catalog/datasets/ods047/exports/csv") && text.contains("HTTP 502"),
        "{text}"
    );
    assert!(!other.exists());
}

#[test]
fn a_client_error_is_not_retried_and_names_the_url_and_message() {
    let Some(server) = Server::ods047("a_client_error_is_not_retried") else {
        return;
    };
    let base = server.start();
    server.script(&[Scripted::Status(
        400,
        r#"{"error_code": "ODSQLError", "message": "Unknown field: datetime"}"#.into(),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch(
        &client(&base, 5),
        &request("2023-01-10", "2023-01-10", &dir.path().join("x.csv")),
        &|_| {},
    )
    .unwrap_err();
    assert_eq!(server.requests(), 1);
    let text = e.to_string();
    assert!(
        text.contains("ods047/exports/csv") && text.contains("HTTP 400: Unknown field: datetime"),
        "{text}"
    );
}

#[test]
fn schema_drift_is_an_error_naming_the_dataset() {
    let Some(server) = Server::ods047("schema_drift_is_an_error_naming_the_dataset") else {
        return;
    };
    let base = server.start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    // A renamed price field.
    let ids = server.header.lock().unwrap().clone();
    *server.header.lock().unwrap() = ids.replace("positiveimbalanceprice", "positive_price");
    let e = fetch(
        &client(&base, 1),
        &request("2023-01-10", "2023-01-10", &out),
        &|_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Schema {
                dataset: "ods047",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("schema changed"), "{e}");
    // A new resolution code.
    *server.header.lock().unwrap() = ids;
    server.edit_rows(|l| l.replace(";PT15M;", ";PT5M;"));
    let e = fetch(
        &client(&base, 1),
        &request("2023-01-10", "2023-01-10", &out),
        &|_| {},
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("ods047") && e.to_string().contains("PT5M"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn an_empty_window_writes_an_empty_file_and_resumes_where_it_stopped() {
    let Some(server) = Server::ods047("an_empty_window_writes_an_empty_file") else {
        return;
    };
    let base = server.start();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("2022.csv");
    let report = fetch(
        &client(&base, 2),
        &request("2022-06-01", "2022-06-02", &empty),
        &|_| {},
    )
    .unwrap();
    assert_eq!((report.fetched, report.total), (1, 0));
    assert_eq!(std::fs::read_to_string(&empty).unwrap().lines().count(), 1);

    // Interrupted by a refusal in the second window: the first is kept; run again, only the
    // missing windows are asked for.
    let out = dir.path().join("q1.csv");
    let req = request("2023-01-01", "2023-03-31", &out);
    let before = server.requests();
    let failing = client(&base, 1);
    let seen = std::cell::Cell::new(0);
    let stop_after_first = |_: &imbarb_fetch::WindowDone| {
        seen.set(seen.get() + 1);
        if seen.get() == 1 {
            server.script(&[Scripted::Status(404, r#"{"message": "gone"}"#.into())]);
        }
    };
    let e = fetch(&failing, &req, &stop_after_first).unwrap_err();
    assert!(e.to_string().contains("HTTP 404: gone"), "{e}");
    assert_eq!(server.requests() - before, 2);
    let resumed = fetch(&client(&base, 2), &req, &|_| {}).unwrap();
    assert_eq!((resumed.skipped, resumed.fetched), (1, 2));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        converted("2023-01-01", "2023-03-31")
    );
}

#[test]
fn validated_rows_replace_not_validated_ones_and_never_the_reverse() {
    let Some(server) = Server::ods047("validated_rows_replace_not_validated_ones") else {
        return;
    };
    let base = server.start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let req = request("2023-01-10", "2023-01-10", &out);
    // First published as a not-validated estimate, 1 EUR/MWh off.
    let original: Vec<String> = server
        .rows
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.clone())
        .collect();
    server.edit_rows(|l| {
        let mut cells: Vec<String> = l.split(';').map(String::from).collect();
        cells[1] = "Not Validated".into();
        let p: f64 = cells[9].parse().unwrap();
        cells[9] = format!("{}", p + 1.0);
        cells[10] = cells[9].clone();
        cells.join(";")
    });
    let first = fetch(&client(&base, 1), &req, &|_| {}).unwrap();
    assert_eq!(first.added, 96);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("Not Validated"));
    // The validated version arrives and replaces every row.
    for (r, o) in server.rows.lock().unwrap().iter_mut().zip(&original) {
        r.1 = o.clone();
    }
    let second = fetch(&client(&base, 1), &req, &|_| {}).unwrap();
    assert_eq!((second.added, second.replaced), (0, 96));
    let validated = std::fs::read_to_string(&out).unwrap();
    assert_eq!(validated, converted("2023-01-10", "2023-01-10"));
    // A late not-validated copy does not undo it (the window is whole and validated: skipped;
    // and a forced one would keep the validated rows).
    let third = fetch(&client(&base, 1), &req, &|_| {}).unwrap();
    assert_eq!((third.fetched, third.skipped), (0, 1));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), validated);
}
