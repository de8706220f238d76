//! What the command-line tests share: running the binary and reading its output.
#![allow(dead_code)]

use std::path::Path;
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

/// Trains a small `algo` run on the embedded Belgian prices into `dir/run`.
pub fn trained(dir: &Path, algo: &str) -> String {
    trained_with(dir, algo, "", "")
}

/// `trained` with more `[training]` lines and more tables after the config's own.
pub fn trained_with(dir: &Path, algo: &str, training: &str, tables: &str) -> String {
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "algo = \"{algo}\"\n[training]\nlearning_starts = 500\nvalidate_every = 1500\n\
             envs = 8\n{training}\n[network]\nhidden = [32, 32]\n{tables}"
        ),
    )
    .unwrap();
    let run = dir.join("run");
    let o = imbarb(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        "belgium",
        "--steps",
        "3000",
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    run.display().to_string()
}
