//! What the CLI owns and where it writes (issue #29). Class 1: a second experiment on the same
//! directory is refused naming the first one's pid, and the runs an experiment started end with
//! it when it is killed, instead of training on as orphans. Class 6: a closed pipe or a full
//! device ends the command cleanly, never with a panic.

mod common;

use common::{imbarb, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `f` every 100 ms for up to `limit`; its last answer.
fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(x) = f() {
            return Some(x);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pid written in a directory's lock file, once there is one.
fn lock_holder(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join(".lock"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn an_experiment_owns_its_directory_and_its_runs_die_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = dir.path().join("long.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"long\"\nseeds = [0]\ndata = [\"synthetic:2023-01-01..2023-02-28:seed=2\"]\n\
             baselines = [\"rule\"]\n\
             [[agents]]\nname = \"qr\"\nconfig = \"{}\"\nsteps = 50000000\n",
            root.join("configs/qrdqn.toml").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("exp");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["experiment", file.to_str().unwrap(), "--out"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(out.display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let mut first = Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(args(&[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run: PathBuf = out.join("runs/qr-capnone-seed0");
    let trainer = wait_for(Duration::from_secs(120), || lock_holder(&run));
    let Some(trainer) = trainer else {
        let _ = first.kill();
        panic!("the experiment's run never started");
    };
    assert_ne!(trainer, first.id(), "the run is trained by a child process");

    // A second experiment on the same directory is refused, naming the first.
    let a: Vec<String> = args(&[]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let second = imbarb(&a);
    let err = stderr(&second);
    let _ = first.kill();
    assert!(!second.status.success());
    assert!(
        err.contains("in use by another imbarb process")
            && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );

    // Killed with SIGKILL (no chance to clean up), the experiment takes its run with it.
    first.wait().unwrap();
    let gone = wait_for(Duration::from_secs(30), || (!alive(trainer)).then_some(()));
    if gone.is_none() {
        let _ = Command::new("kill")
            .args(["-9", &trainer.to_string()])
            .status();
        panic!("the run's trainer (pid {trainer}) outlived its experiment");
    }
    // Both directories are free again.
    let free = imbarb_util::fs::DirLock::acquire(&run).and(imbarb_util::fs::DirLock::acquire(&out));
    assert!(free.is_ok(), "{free:?}");
}

/// Output to a closed pipe ends quietly with success; to a full device, with an error that
/// names standard output (issue #29, class 6). Never a panic.
#[test]
fn closed_pipes_end_quietly_and_full_devices_fail_cleanly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(["config", "show", "qr-dqn"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
    assert_eq!(stderr(&o), "");

    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        return; // not Linux: no full device to write to
    };
    let o = Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(["config", "show", "qr-dqn"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: cannot write to standard output: No space left on device (os error 28)\n"
    );
}
