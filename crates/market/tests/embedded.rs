//! The embedded real prices (`belgium`): the records, and the data hash, of the file they were
//! compressed from; its coverage even without the shared data folder.

use imbarb_market::source::{self, BELGIUM, BELGIUM_FILE};
use imbarb_market::{read_file, Coverage};
use imbarb_util::testdata::require_shared_data;

#[test]
fn belgium_is_the_shared_file_record_for_record() {
    let embedded = source::load(&[BELGIUM.to_string()]).expect("embedded");
    assert!(!embedded.meta.synthetic);
    let Some(dir) = require_shared_data("belgium_is_the_shared_file_record_for_record") else {
        return;
    };
    let file = read_file(dir.join(BELGIUM_FILE)).expect("shared file");
    assert_eq!(embedded.data_hash(), file.data_hash());
    assert_eq!(embedded.qh, file.qh);
}

#[test]
fn belgium_covers_july_2022_to_august_2023() {
    let d = source::belgium().expect("embedded");
    assert_eq!(d.qh.len(), 40_048);
    let c = Coverage::of(&d);
    let first = c.complete_days.first().expect("days").to_string();
    let last = c.complete_days.last().expect("days").to_string();
    assert_eq!(
        (first.as_str(), last.as_str()),
        ("2022-07-11", "2023-08-30")
    );
    assert_eq!(c.complete_days.len(), 415);
}

#[test]
fn embedded_markets_stand_alone() {
    let err = source::load(&[BELGIUM.to_string(), "other.csv".to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`belgium`") && err.contains("stands alone"),
        "{err}"
    );
}
