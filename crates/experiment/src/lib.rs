//! imbarb-experiment: everything between the command line and the library crates that simulate
//! and learn. A simulation setup from data, split and battery (`setup`); the policies a user can
//! name (`policy`); fitted forecasters shared by runs that fit the same one
//! (`forecaster_cache`); experiment files and their grid of training jobs (`grid`), run as child
//! processes (`runner`); the backtest of an experiment's runs beside its baselines and oracle
//! (`evaluate`); and the results tables (`tables`). The `imbarb` binary only parses arguments
//! and prints.

pub mod evaluate;
pub mod forecaster_cache;
pub mod grid;
pub mod policy;
pub mod quickstart;
pub mod runner;
pub mod setup;
pub mod slurm;
pub mod tables;

pub use forecaster_cache::{CacheOutcome, ForecasterCache};
pub use grid::{select_agents, ExperimentFile, Job};
pub use policy::{
    ledger_stems, make_policy, run_policy, runs_action_space, runs_granularity, PolicySpec,
    DEFAULT_MPC_HORIZON, DEFAULT_ROLLING_DAYS,
};
pub use runner::{JobDone, JobProgress, Listener};
pub use setup::{build_setup, parse_data, training_setup, DaySet, Setup};

use anyhow::{bail, Context, Result};
use imbarb_util::fs::{write_atomic, DirLock};
use std::path::{Path, PathBuf};

/// How to run an experiment.
#[derive(Debug, Clone)]
pub struct ExperimentOptions {
    /// The experiment file.
    pub file: PathBuf,
    /// The experiment directory (default: runs/experiments/<name>).
    pub out: Option<PathBuf>,
    /// Training jobs at a time.
    pub jobs: usize,
    /// Train nothing; evaluate the finished runs.
    pub evaluate_only: bool,
    /// Only these agents of the file.
    pub agents: Option<Vec<String>>,
    /// The `imbarb` binary that trains each job (`imbarb train`).
    pub exe: PathBuf,
}

/// What an experiment produced.
#[derive(Debug)]
pub struct ExperimentOutcome {
    /// The experiment directory.
    pub dir: PathBuf,
    /// The Markdown results (the printed table; results.md adds training speed).
    pub results_md: String,
    /// The files written: results.csv, results.md, report.html.
    pub files: [PathBuf; 3],
    /// Runs that failed to train, as (run name, error).
    pub failures: Vec<(String, String)>,
    /// How many jobs the grid (as selected) has.
    pub jobs: usize,
}

/// The experiment's name, directory and jobs (the grid's cells, in order), touching nothing.
pub fn grid_of(
    o: &ExperimentOptions,
    file: &ExperimentFile,
) -> Result<(String, PathBuf, Vec<Job>)> {
    let name = file.name_for(&o.file);
    let dir = o
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/experiments").join(&name));
    let jobs = file.jobs(&o.file, Path::new(""), &dir)?;
    let jobs = select_agents(jobs, o.agents.as_deref(), &o.file)?;
    Ok((name, dir, jobs))
}

/// The experiment's name, directory and jobs (the grid's cells, in order), with their configs
/// written there. Without `lock` (a Slurm cell, which trains one run among many processes) the
/// directory is not claimed; each run claims its own.
pub fn prepare(
    o: &ExperimentOptions,
    file: &ExperimentFile,
    lock: bool,
) -> Result<(String, PathBuf, Vec<Job>, Option<DirLock>)> {
    let (name, dir, jobs) = grid_of(o, file)?;
    // One experiment process per directory: a second one would train the same runs.
    let lock = if lock {
        Some(DirLock::acquire(&dir)?)
    } else {
        None
    };
    for sub in ["configs", "runs", "logs"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let text = std::fs::read_to_string(&o.file)
        .with_context(|| format!("reading {}", o.file.display()))?;
    write_atomic(&dir.join("experiment.toml"), text.as_bytes())?;
    // One config per agent and cap (the seed comes from `--seed`).
    let mut written = std::collections::BTreeSet::new();
    for j in &jobs {
        if written.insert(j.config_path.clone()) {
            write_atomic(&j.config_path, j.config.to_toml().as_bytes())?;
        }
    }
    Ok((name, dir, jobs, lock))
}

/// Runs an experiment: trains what is missing (`on_start` is told the plan, `listener` how the
/// runs go), backtests every finished run beside the baselines and writes results.csv,
/// results.md, evaluation.json and report.html. Failed runs are reported in the outcome, not as
/// an error, so the results of the others are still written.
pub fn run_experiment(
    o: &ExperimentOptions,
    on_start: &dyn Fn(&str, usize, &Path),
    listener: &Listener,
) -> Result<ExperimentOutcome> {
    let file = ExperimentFile::read(&o.file)?;
    let baselines = file
        .baselines()
        .map_err(|e| anyhow::anyhow!("{}: baselines: {e}", o.file.display()))?;
    let (name, dir, jobs, _owned) = prepare(o, &file, true)?;
    let failures = if o.evaluate_only {
        vec![]
    } else {
        on_start(&name, jobs.len(), &dir);
        runner::run_jobs(&o.exe, &jobs, o.jobs.max(1), listener)
    };
    let evaluation = evaluate::evaluate(&name, &jobs, &baselines)?;
    let csv_path = dir.join("results.csv");
    write_atomic(&csv_path, tables::results_csv(&evaluation)?.as_bytes())?;
    let md = tables::results_md(&evaluation);
    let runs = imbarb_report::load_runs_of(&dir, &evaluation).map_err(anyhow::Error::msg)?;
    let md_path = dir.join("results.md");
    let file_md = format!("{md}{}", tables::training_speed_md(&runs));
    write_atomic(&md_path, file_md.as_bytes())?;
    write_atomic(
        &dir.join("evaluation.json"),
        serde_json::to_string(&evaluation)?.as_bytes(),
    )?;
    let report =
        imbarb_report::write_report_of(&dir, &evaluation, &runs).map_err(anyhow::Error::msg)?;
    Ok(ExperimentOutcome {
        dir,
        results_md: md,
        files: [csv_path, md_path, report],
        failures,
        jobs: jobs.len(),
    })
}

/// An error listing the failed runs of `outcome`, if any.
pub fn failures_error(outcome: &ExperimentOutcome) -> Result<()> {
    if outcome.failures.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = outcome
        .failures
        .iter()
        .map(|(n, e)| format!("{n}: {e}"))
        .collect();
    bail!(
        "{} of {} runs failed:\n{}",
        outcome.failures.len(),
        outcome.jobs,
        list.join("\n")
    )
}
