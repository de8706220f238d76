//! Errors of the engine: shape mismatches and checkpoint problems.

/// What can go wrong in imbarb-nn.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A configuration or input has the wrong shape.
    #[error("shape error: {0}")]
    Shape(String),
    /// A checkpoint file could not be read or written.
    #[error("{path}: {message}")]
    Checkpoint {
        /// File path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, NnError>;
