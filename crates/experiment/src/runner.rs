//! Runs training jobs: each in a child `imbarb train` process (a failing run cannot take the
//! others down), `workers` at a time, output appended to the job's log (a resumed run keeps its
//! history).

use crate::grid::Job;
use anyhow::{bail, Context, Result};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;

/// What one finished job reports: its place in the queue and its outcome.
#[derive(Debug, Clone)]
pub struct JobDone {
    /// How many jobs have finished, this one included.
    pub done: usize,
    /// How many jobs there are.
    pub total: usize,
    /// The run's name (`<agent>-cap<C>-seed<N>`).
    pub name: String,
    /// The last line `imbarb train` printed, or the error.
    pub result: Result<String, String>,
}

/// Trains `job` with `exe train` (the `imbarb` binary). Returns the last line it printed.
pub fn train_job(exe: &Path, job: &Job) -> Result<String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&job.log)
        .with_context(|| format!("opening {}", job.log.display()))?;
    let status = std::process::Command::new(exe)
        .arg("train")
        .arg("--config")
        .arg(&job.config_path)
        .arg("--seed")
        .arg(job.seed.to_string())
        .arg("--out")
        .arg(&job.run)
        .arg("--quiet")
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("starting {} train", exe.display()))?;
    let text = std::fs::read_to_string(&job.log).unwrap_or_default();
    let last = text.lines().last().unwrap_or("").to_string();
    if !status.success() {
        bail!("{last} (log: {})", job.log.display());
    }
    Ok(last)
}

/// Runs `jobs` on `workers` threads with `exe`, calling `on_done` as each finishes; returns the
/// failures as (run name, error).
pub fn run_jobs(
    exe: &Path,
    jobs: &[Job],
    workers: usize,
    on_done: &(dyn Fn(&JobDone) + Sync),
) -> Vec<(String, String)> {
    let queue: Mutex<VecDeque<&Job>> = Mutex::new(jobs.iter().collect());
    let failures = Mutex::new(vec![]);
    let done = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().map(|mut q| q.pop_front()).ok().flatten() else {
                    return;
                };
                let result = train_job(exe, job).map_err(|e| format!("{e:#}"));
                let n = done
                    .lock()
                    .map(|mut d| {
                        *d += 1;
                        *d
                    })
                    .unwrap_or(0);
                let report = JobDone {
                    done: n,
                    total: jobs.len(),
                    name: job.name(),
                    result,
                };
                if let Err(e) = &report.result {
                    if let Ok(mut f) = failures.lock() {
                        f.push((report.name.clone(), e.clone()));
                    }
                }
                on_done(&report);
            });
        }
    });
    failures.into_inner().unwrap_or_default()
}
