//! Market data for pandas: the sources read by the Rust readers (every supported layout,
//! recognised from the header; errors name the file, line and field) and rendered as imbarb's
//! canonical CSV, which `imbarb.read_market` parses into a DataFrame.

use crate::errors::IntoPy;
use anyhow::Context;
use imbarb_market::source::{load_sources, parse_sources};
use imbarb_market::write::{canonical_minute_csv, canonical_qh_csv};
use pyo3::prelude::*;

/// The data in `sources` as canonical CSV: `(quarter-hours, per-minute estimates, day-ahead)`,
/// each with a header (empty tables where the data has none).
#[pyfunction]
pub fn market_csv(sources: Vec<String>) -> PyResult<(String, String, String)> {
    let parsed = parse_sources(&sources).context("data").py_err()?;
    let data = load_sources(&parsed).context("data").py_err()?;
    let mut day_ahead = String::from("timestamp_utc,day_ahead_price_eur_mwh\n");
    for p in &data.day_ahead {
        day_ahead.push_str(&format!(
            "{},{}\n",
            p.start_utc.format("%Y-%m-%dT%H:%M:%SZ"),
            p.eur_per_mwh
        ));
    }
    Ok((
        canonical_qh_csv(&data),
        canonical_minute_csv(&data),
        day_ahead,
    ))
}
