//! `imbarb data fetch` end to end against the local stand-in for opendata.elia.be (the server of
//! imbarb-fetch's tests, a real ods047 export behind it): the file it writes is the one
//! `data convert` makes of the same export, and a second run asks for nothing.

#[path = "../../fetch/tests/common/mod.rs"]
mod server;

mod common;

use common::{imbarb, stderr, stdout};

#[test]
fn fetch_writes_what_convert_writes_and_a_rerun_changes_nothing() {
    let Some(server) = server::Server::ods047("fetch_writes_what_convert_writes") else {
        return;
    };
    let base = server.start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("be.csv");
    let args = [
        "data",
        "fetch",
        "ods047",
        "--from",
        "2023-03-25",
        "--to",
        "2023-03-27",
        "--out",
        out.to_str().unwrap(),
        "--base-url",
        &base,
    ];
    let o = imbarb(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ods047 284 rows (284 new, 0 revised); 1 windows fetched"),
        "{}",
        stdout(&o)
    );
    // The raw export, converted and cut to the same three Brussels days (92 QHs on the 26th).
    let raw = imbarb_util::testdata::shared_data_dir()
        .unwrap()
        .join("raw/elia_ods047_export_2023-01_2023-05.csv");
    let all = dir.path().join("all.csv");
    let c = imbarb(&[
        "data",
        "convert",
        raw.to_str().unwrap(),
        "--out",
        all.to_str().unwrap(),
    ]);
    assert!(c.status.success(), "{}", stderr(&c));
    let converted = std::fs::read_to_string(&all).unwrap();
    let fetched = std::fs::read_to_string(&out).unwrap();
    let mut lines = fetched.lines();
    let header = lines.next().unwrap();
    assert_eq!(header, converted.lines().next().unwrap());
    let body: Vec<&str> = lines.collect();
    let start = converted
        .lines()
        .position(|l| l == body[0])
        .expect("first row in convert");
    let expected: Vec<&str> = converted.lines().skip(start).take(body.len()).collect();
    assert_eq!(body, expected);
    let again = imbarb(&args);
    assert!(
        stdout(&again).contains("0 windows fetched, 1 already held"),
        "{}",
        stdout(&again)
    );
    assert_eq!(server.requests(), 1);
}
