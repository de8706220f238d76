//! Locates the project's folder of real data (`../shared/data` beside the checkout) for tests,
//! benchmarks and examples. `IMBARB_SHARED_DATA` overrides the location.

use std::path::PathBuf;

/// The shared real-data folder, if it exists: `$IMBARB_SHARED_DATA`, else `../shared/data`
/// relative to the workspace root.
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("IMBARB_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    dir.is_dir().then_some(dir)
}

/// The shared data folder for a test that needs it. Under `CI=true` a missing folder fails the
/// test (panics with an explanation); elsewhere it prints a visible skip message and returns `None`.
pub fn require_shared_data(test: &str) -> Option<PathBuf> {
    match shared_data_dir() {
        Some(d) => Some(d),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: the shared data folder is missing (set IMBARB_SHARED_DATA or place \
             ../shared/data beside the checkout); CI=true, so this is a failure"
        ),
        None => {
            eprintln!(
                "SKIPPED {test}: shared data folder not found (set IMBARB_SHARED_DATA to run it)"
            );
            None
        }
    }
}
