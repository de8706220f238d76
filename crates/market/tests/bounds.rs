//! Magnitudes and years the reader accepts (issue #29): a number beyond the plausible range is
//! refused at its file, line and column before it reaches a solver, real extremes pass, and the
//! synthetic generator never writes a year the reader would refuse.

use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::write::canonical_qh_csv;
use imbarb_market::{read_bytes, MAX_ABS_VALUE};

fn one_price(text: &str) -> Result<f64, String> {
    let csv = format!(
        "timestamp_utc,imbalance_price_eur_mwh\n2023-01-01T00:00:00Z,10\n2023-01-01T00:15:00Z,{text}\n"
    );
    read_bytes("p.csv", csv.as_bytes())
        .map(|d| d.qh[1].price.long_eur_per_mwh())
        .map_err(|e| e.to_string())
}

#[test]
fn implausible_magnitudes_are_refused_where_they_stand() {
    for ok in ["-15000", "15000", "99999.99", "-100000", "1e5"] {
        let v = one_price(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(v, ok.parse::<f64>().unwrap());
    }
    for bad in ["100000.01", "1e39", "-1e300", "1.7976931348623157e308"] {
        let e = one_price(bad).expect_err(bad);
        assert!(
            e.contains("p.csv: line 3, column 2 `imbalance_price_eur_mwh`")
                && e.contains("plausible range")
                && e.contains(bad),
            "{e}"
        );
    }
    for not_a_number in ["inf", "-inf", "NaN"] {
        let e = one_price(not_a_number).expect_err(not_a_number);
        assert!(e.contains("line 3") && e.contains("finite"), "{e}");
    }
    assert_eq!(MAX_ABS_VALUE, 100_000.0);
}

/// The first and last days the generator accepts read back; one day further is refused by the
/// generator itself, naming the range.
#[test]
fn synthetic_years_are_the_years_the_reader_reads() {
    let params = SynthParams::embedded().unwrap();
    for (from, to) in [("1990-01-02", "1990-01-03"), ("2100-12-30", "2100-12-31")] {
        let data = generate(
            &params,
            from.parse().unwrap(),
            to.parse().unwrap(),
            1,
            false,
        )
        .unwrap_or_else(|e| panic!("{from}..{to}: {e}"));
        let back = read_bytes("s.csv", canonical_qh_csv(&data).as_bytes())
            .unwrap_or_else(|e| panic!("{from}..{to} does not read back: {e}"));
        assert_eq!(back.qh.len(), data.qh.len());
    }
    for (from, to) in [("1990-01-01", "1990-01-02"), ("2101-01-01", "2101-01-02")] {
        let e = generate(
            &params,
            from.parse().unwrap(),
            to.parse().unwrap(),
            1,
            false,
        )
        .expect_err(from)
        .to_string();
        assert!(e.contains("supported years 1990..=2100"), "{e}");
    }
}
