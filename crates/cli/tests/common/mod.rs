//! What the command-line tests share: running the binary and reading its output.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `imbarb` with `args`.
pub fn imbarb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(args)
        .output()
        .expect("run imbarb")
}

/// Its standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
