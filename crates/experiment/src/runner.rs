//! Runs training jobs: each in a child `imbarb train` process (a failing run cannot take the
//! others down), `workers` at a time, output appended to the job's log (a resumed run keeps its
//! history).

use crate::grid::Job;
use anyhow::{bail, Context, Result};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How often `run_jobs` reports the runs' progress.
const TICK: Duration = Duration::from_secs(1);

/// Where a job stands, from its run directory (updated at each of its validations).
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// The run's name.
    pub name: String,
    /// Environment steps at its latest validation (0 before the first).
    pub step: usize,
    /// Its total environment steps.
    pub total: usize,
    /// Validation EUR/day at its latest validation.
    pub validation: Option<f64>,
}

/// The progress of `job` as its run directory records it.
pub fn progress_of(job: &Job) -> JobProgress {
    let last = imbarb_agents::trainer::read_metrics(&job.run)
        .ok()
        .and_then(|m| m.last().cloned());
    JobProgress {
        name: job.name(),
        step: last.as_ref().map_or(0, |l| l.step),
        total: job.config.training.total_steps,
        validation: last.map(|l| l.val_eur_per_day),
    }
}

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
    let mut child = std::process::Command::new(exe)
        .arg("train")
        .arg("--config")
        .arg(&job.config_path)
        .arg("--seed")
        .arg(job.seed.to_string())
        .arg("--out")
        .arg(&job.run)
        .arg("--forecaster-cache")
        .arg(&job.forecaster_cache)
        .arg("--quiet")
        .arg("--exit-with-parent")
        .stdin(std::process::Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {} train", exe.display()))?;
    // The child watches this pipe: it closes when this process ends, however it ends (kill -9
    // included), and the child stops then instead of training on as an orphan.
    let _lifeline = child.stdin.take();
    let status = child
        .wait()
        .with_context(|| format!("waiting for {} train", exe.display()))?;
    let text = std::fs::read_to_string(&job.log).unwrap_or_default();
    let last = text.lines().last().unwrap_or("").to_string();
    if !status.success() {
        bail!("{last} (log: {})", job.log.display());
    }
    Ok(last)
}

/// What a caller hears while jobs run: each finished job, and every second the progress of every
/// job.
pub struct Listener<'a> {
    /// Called as each job finishes.
    pub on_done: &'a (dyn Fn(&JobDone) + Sync),
    /// Called every second with every job's progress, until all have finished.
    pub on_tick: &'a (dyn Fn(&[JobProgress]) + Sync),
}

/// What a worker does next.
enum Next<'a> {
    /// Train this job.
    Run(&'a Job),
    /// Report this job failed: the run it depends on (the path) failed.
    Blocked(&'a Job, PathBuf),
}

/// The first queued job whose dependency has ended (or that has none, or depends on a run
/// outside `all`, this call's runs, which `train` checks itself), waiting while every queued job
/// waits on a run still queued or training; `None` when the queue is empty.
fn next_job<'a>(
    queue: &Mutex<VecDeque<&'a Job>>,
    ended: &Mutex<HashMap<PathBuf, bool>>,
    all: &HashSet<PathBuf>,
) -> Option<Next<'a>> {
    loop {
        {
            let mut q = queue.lock().ok()?;
            if q.is_empty() {
                return None;
            }
            let e = ended.lock().ok()?;
            let ready = q.iter().position(|j| {
                j.depends_on
                    .as_ref()
                    .is_none_or(|d| e.contains_key(d) || !all.contains(d))
            });
            if let Some(i) = ready {
                let job = q.remove(i)?;
                return Some(match &job.depends_on {
                    Some(d) if e.get(d) == Some(&false) => Next::Blocked(job, d.clone()),
                    _ => Next::Run(job),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `jobs` on `workers` threads with `exe`, telling `listener` how they go; returns the
/// failures as (run name, error).
pub fn run_jobs(
    exe: &Path,
    jobs: &[Job],
    workers: usize,
    listener: &Listener,
) -> Vec<(String, String)> {
    let on_done = listener.on_done;
    let queue: Mutex<VecDeque<&Job>> = Mutex::new(jobs.iter().collect());
    // Runs that ended in this call: true when they trained to the end.
    let ended: Mutex<HashMap<PathBuf, bool>> = Mutex::default();
    let all: HashSet<PathBuf> = jobs.iter().map(|j| j.run.clone()).collect();
    let failures = Mutex::new(vec![]);
    let done = Mutex::new(0usize);
    let all_done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            while !all_done.load(Ordering::Acquire) {
                let progress: Vec<JobProgress> = jobs.iter().map(progress_of).collect();
                (listener.on_tick)(&progress);
                std::thread::park_timeout(TICK);
            }
        });
        let mut workers_running = vec![];
        for _ in 0..workers.clamp(1, jobs.len().max(1)) {
            workers_running.push(scope.spawn(|| loop {
                let Some(next) = next_job(&queue, &ended, &all) else {
                    return;
                };
                let (job, result) = match next {
                    Next::Run(job) => (job, train_job(exe, job).map_err(|e| format!("{e:#}"))),
                    Next::Blocked(job, on) => (
                        job,
                        Err(format!("not trained: {} did not finish", on.display())),
                    ),
                };
                if let Ok(mut e) = ended.lock() {
                    e.insert(job.run.clone(), result.is_ok());
                }
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
            }));
        }
        for w in workers_running {
            let _ = w.join();
        }
        all_done.store(true, Ordering::Release);
        // Wake the ticker rather than let a finished grid wait out its pause.
        ticker.thread().unpark();
    });
    failures.into_inner().unwrap_or_default()
}
