//! imbarb-util: the project's utilities, kept out of the domain crates: atomic file writes
//! (`fs`), interpolated sample quantiles for descriptive statistics (`stats`; risk measures are
//! imbarb-risk's), and the location of the shared real-data folder for tests and benchmarks
//! (`testdata`).

pub mod fs;
pub mod range;
pub mod stats;
pub mod sys;
pub mod testdata;
