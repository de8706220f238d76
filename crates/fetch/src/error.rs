//! What can go wrong fetching, each case with what a user needs to act on it.

/// Fetch failures.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The API refused the request (a 4xx other than 429): retrying would not help.
    #[error("{url}: HTTP {status}: {message}")]
    Http {
        /// The request (URL and window).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's own message.
        message: String,
    },
    /// Every try failed with a transient error (5xx, 429, connection, incomplete body).
    #[error("{url}: gave up after {attempts} tries; last: {last}")]
    GaveUp {
        /// The request (URL and window).
        url: String,
        /// Tries made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The export no longer has the shape imbarb reads (a renamed or missing field, a new
    /// resolution code): never read as an empty column.
    #[error("dataset {dataset}: the export's schema changed: {detail}")]
    Schema {
        /// The dataset id.
        dataset: &'static str,
        /// What differs, with the reader's located error.
        detail: String,
    },
    /// The output file exists but cannot take this dataset's rows.
    #[error("{path}: {detail}")]
    Output {
        /// The output file.
        path: String,
        /// Why not.
        detail: String,
    },
    /// The request itself is wrong (dates, dataset).
    #[error("{0}")]
    Request(String),
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] imbarb_util::fs::WriteError),
}
