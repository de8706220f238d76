//! Line numbers in errors are the file's own, whether its lines end in `\n` or `\r\n` (Elia's
//! raw exports are CRLF): the same bad file in both forms names the same line, blank lines
//! and a byte-order mark included.

use imbarb_market::read_bytes;

/// The error for `lf` and for its CRLF twin (and with a UTF-8 BOM in front).
fn errors(lf: &str) -> [String; 3] {
    let crlf = lf.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    [lf, crlf.as_str(), bom.as_str()].map(|text| {
        read_bytes("t.csv", text.as_bytes())
            .expect_err("a bad file")
            .to_string()
    })
}

#[test]
fn a_bad_value_names_its_line_in_lf_and_crlf_files() {
    let text = "timestamp_utc,imbalance_price_eur_mwh\n\
                2023-01-01T00:00:00Z,10\n\
                \n\
                2023-01-01T00:15:00Z,11\n\
                2023-01-01T00:30:00Z,abc\n\
                2023-01-01T00:45:00Z,13\n";
    for e in errors(text) {
        assert!(e.contains("t.csv: line 5,") && e.contains("`abc`"), "{e}");
    }
}

#[test]
fn a_short_row_names_its_line_in_lf_and_crlf_files() {
    let text = "timestamp_utc,imbalance_price_eur_mwh\n\
                2023-01-01T00:00:00Z,10\n\
                2023-01-01T00:15:00Z\n";
    for e in errors(text) {
        assert!(e.contains("line 3"), "{e}");
    }
}

#[test]
fn a_duplicate_names_both_lines_in_lf_and_crlf_files() {
    let text = "timestamp_utc,imbalance_price_eur_mwh\n\
                2023-01-01T00:00:00Z,10\n\
                \n\
                2023-01-01T00:15:00Z,11\n\
                2023-01-01T00:15:00Z,12\n";
    for e in errors(text) {
        assert!(e.contains("line 4") && e.contains("line 5"), "{e}");
        assert!(!e.contains("line 3") && !e.contains(" 3 "), "{e}");
    }
}
