//! Rust errors as Python exceptions: one exception type, `imbarb.ImbarbError` (a `ValueError`,
//! so code that catches bad input keeps working), carrying the whole Rust error chain.

use pyo3::create_exception;
use pyo3::prelude::*;

create_exception!(
    imbarb,
    ImbarbError,
    pyo3::exceptions::PyValueError,
    "An error from imbarb's Rust core: bad input (naming the file, line and field), a run that cannot load, a training failure."
);

/// The error with its causes (`context: cause: ...`), as the command line prints it.
pub fn to_py(e: anyhow::Error) -> PyErr {
    ImbarbError::new_err(format!("{e:#}"))
}

/// `Result<T, anyhow::Error>` to `PyResult<T>`.
pub trait IntoPy<T> {
    /// Maps the error to `ImbarbError`.
    fn py_err(self) -> PyResult<T>;
}

impl<T, E: Into<anyhow::Error>> IntoPy<T> for Result<T, E> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}

/// An `ImbarbError` with `message`.
pub fn err(message: impl Into<String>) -> PyErr {
    ImbarbError::new_err(message.into())
}
