//! imbarb from Python: the Rust half of the `imbarb` package (`imbarb._imbarb`).
//!
//! It exposes what the Python layer (`python/imbarb/`) wraps into Gymnasium environments, pandas
//! frames and SB3-like policies: batches of simulator environments stepped in Rust (`envs`),
//! backtests of named or Python policies with their metrics (`backtest`), trained runs that
//! predict and decide (`run`), training (`train`) and market data as canonical CSV (`market`).
//! Every error from the Rust side arrives as `imbarb.ImbarbError` with the Rust message (file,
//! line and field where the Rust error names them).

use pyo3::prelude::*;

mod backtest;
mod envs;
mod errors;
mod market;
mod run;
mod spec;

/// The extension module.
#[pymodule]
fn _imbarb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ImbarbError", m.py().get_type::<errors::ImbarbError>())?;
    m.add("INFO_FIELDS", envs::INFO_FIELDS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<envs::Envs>()?;
    m.add_class::<run::Run>()?;
    m.add_function(wrap_pyfunction!(backtest::backtest, m)?)?;
    m.add_function(wrap_pyfunction!(run::train, m)?)?;
    m.add_function(wrap_pyfunction!(market::market_csv, m)?)?;
    Ok(())
}
