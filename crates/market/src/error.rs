//! Errors of the market crate. Every parsing error names the file, and where it applies the line,
//! the column and the offending text, so a user can open the file and fix it.

use std::path::PathBuf;

/// Anything that can go wrong while reading, validating or generating market data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {reason}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying I/O error.
        reason: std::io::Error,
    },
    /// The file has no header line at all.
    #[error("{path}: the file is empty (expected a header line)")]
    Empty {
        /// File path.
        path: PathBuf,
    },
    /// The header matches none of the supported layouts.
    #[error("{path}: line 1: unrecognised header `{header}`\nexpected one of:\n{expected}")]
    UnknownHeader {
        /// File path.
        path: PathBuf,
        /// The header as read.
        header: String,
        /// The supported layouts with their key columns, one per line.
        expected: String,
    },
    /// The header was recognised but lacks a column the layout needs.
    #[error("{path}: line 1: missing column `{column}` for {format} (header: `{header}`)")]
    MissingColumn {
        /// File path.
        path: PathBuf,
        /// Layout the header was recognised as.
        format: &'static str,
        /// The missing column (canonical or label form).
        column: &'static str,
        /// The header as read.
        header: String,
    },
    /// A cell could not be parsed.
    #[error("{path}: line {line}, column {column_index} `{column}`: {reason}: `{text}`")]
    Cell {
        /// File path.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Column name as in the header.
        column: String,
        /// 1-based column index.
        column_index: usize,
        /// The offending text.
        text: String,
        /// What was expected.
        reason: String,
    },
    /// A row has the wrong number of fields.
    #[error("{path}: line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// File path.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// The CSV layer rejected the bytes (bad quoting, ...).
    #[error("{path}: line {line}: malformed CSV: {message}")]
    Csv {
        /// File path.
        path: PathBuf,
        /// 1-based line number (0 when unknown).
        line: u64,
        /// Parser message.
        message: String,
    },
    /// Two rows for the same time with different content and no validated winner.
    #[error(
        "duplicate {what} {timestamp}: {path_a} line {line_a} and {path_b} line {line_b} differ \
         and neither is the single Validated row"
    )]
    Duplicate {
        /// "quarter-hour" or "minute".
        what: &'static str,
        /// The duplicated timestamp (RFC 3339, UTC).
        timestamp: String,
        /// First file.
        path_a: PathBuf,
        /// Line in the first file.
        line_a: u64,
        /// Second file.
        path_b: PathBuf,
        /// Line in the second file.
        line_b: u64,
    },
    /// Files of different markets were combined.
    #[error(
        "cannot combine {path_a} ({market_a:?}) with {path_b} ({market_b:?}): different markets"
    )]
    MixedMarkets {
        /// First file.
        path_a: PathBuf,
        /// Its market.
        market_a: crate::Market,
        /// Second file.
        path_b: PathBuf,
        /// Its market.
        market_b: crate::Market,
    },
    /// Invalid arguments or parameters (date ranges, generator parameters, split definitions).
    #[error("{0}")]
    Invalid(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, DataError>;
