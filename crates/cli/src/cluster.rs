//! `imbarb experiment --backend slurm`, `--cell N` and `--status`: an experiment grid on a Slurm
//! cluster. The submitting process writes the configs and the batch script, submits the
//! unfinished cells as one job array and (unless `--no-wait`) follows them; each array task runs
//! `--cell N`, which trains that cell's run in place and checkpoints when the scheduler warns.

use crate::experiment::ExperimentArgs;
use anyhow::{bail, Context, Result};
use imbarb_experiment::slurm::{self, CellState, SlurmOptions};
use imbarb_experiment::{grid_of, prepare, ExperimentFile, ExperimentOptions};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Trains cell `n` of the grid (resuming its run). SIGUSR1 or SIGTERM: checkpoint and exit 3.
pub fn run_cell(o: &ExperimentOptions, n: usize) -> Result<()> {
    // Its config written (as the submission did), the experiment directory not claimed: every
    // cell trains beside the others, each claiming its own run.
    let (_, _, jobs, _) = prepare(o, &ExperimentFile::read(&o.file)?, false)?;
    let Some(job) = jobs.get(n) else {
        bail!(
            "--cell {n}: the grid of {} has {} cells (0 to {})",
            o.file.display(),
            jobs.len(),
            jobs.len().saturating_sub(1)
        );
    };
    if let Some(dep) = &job.depends_on {
        let before = jobs.iter().find(|j| &j.run == dep);
        if !before.is_some_and(slurm::finished) {
            bail!(
                "--cell {n} ({}) warm-starts from {}, which has not finished",
                job.name(),
                dep.display()
            );
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGUSR1, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .with_context(|| format!("installing the handler of signal {sig}"))?;
    }
    eprintln!("cell {n}: {}", job.name());
    let args = crate::train::TrainArgs {
        config: job.config_path.clone(),
        out: Some(job.run.clone()),
        seed: Some(job.seed),
        data: None,
        cap: None,
        steps: None,
        forecaster_cache: Some(job.forecaster_cache.clone()),
        quiet: true,
        exit_with_parent: false,
    };
    let finished = crate::train::run_with(args, Some(stop))?;
    if !finished {
        // Stopped on a signal with a checkpoint: the batch script requeues the task.
        std::process::exit(3);
    }
    Ok(())
}

/// Prints every cell's state.
pub fn status(o: &ExperimentOptions) -> Result<()> {
    let (name, dir, jobs) = grid_of(o, &ExperimentFile::read(&o.file)?)?;
    let ids: Vec<String> = slurm::submissions(&dir)?
        .into_iter()
        .map(|s| s.job_id)
        .collect();
    let queue = if ids.is_empty() {
        vec![]
    } else {
        slurm::queued(&ids).unwrap_or_else(|e| {
            eprintln!("{e}: states from the run directories only");
            vec![]
        })
    };
    let states = slurm::cell_states(&jobs, &queue);
    outln!("experiment {name} ({}): {}", dir.display(), counts(&states));
    for (i, (j, s)) in jobs.iter().zip(&states).enumerate() {
        outln!(
            "{i:>4}  {:<11} {}",
            format!("{s:?}").to_lowercase(),
            j.name()
        );
    }
    Ok(())
}

fn counts(states: &[CellState]) -> String {
    let n = |x: CellState| states.iter().filter(|s| **s == x).count();
    format!(
        "{} done, {} running, {} pending, {} unfinished",
        n(CellState::Done),
        n(CellState::Running),
        n(CellState::Pending),
        n(CellState::Unfinished)
    )
}

/// Submits the unfinished cells (those neither finished nor in the queue) and, unless
/// `--no-wait`, follows them until none is queued. True when the caller should evaluate.
pub fn run_on_slurm(o: &ExperimentOptions, args: &ExperimentArgs) -> Result<bool> {
    let file_abs = slurm::absolute(&o.file)?;
    let o = ExperimentOptions {
        file: file_abs.clone(),
        ..o.clone()
    };
    let file = ExperimentFile::read(&o.file)?;
    let (name, dir, jobs, lock) = prepare(&o, &file, true)?;
    let out = slurm::absolute(&dir)?;
    if let Some(w) = slurm::shared_filesystem_warning(&out) {
        eprintln!("{w}");
    }
    let slurm_dir = out.join("slurm");
    std::fs::create_dir_all(&slurm_dir)
        .with_context(|| format!("creating {}", slurm_dir.display()))?;
    imbarb_util::fs::write_atomic(
        &slurm_dir.join("cells.tsv"),
        slurm::cells_tsv(&jobs).as_bytes(),
    )?;
    let ids = || -> Result<Vec<String>> {
        Ok(slurm::submissions(&out)?
            .into_iter()
            .map(|s| s.job_id)
            .collect())
    };
    let queue = slurm::queued(&ids()?)?;
    let states = slurm::cell_states(&jobs, &queue);
    let todo: Vec<usize> = (0..jobs.len())
        .filter(|&i| states[i] == CellState::Unfinished)
        .collect();
    // The cells write only their own runs: the directory lock is not needed while they train.
    drop(lock);
    if todo.is_empty() {
        eprintln!("experiment {name}: nothing to submit ({})", counts(&states));
    } else {
        let options = SlurmOptions {
            partition: args.partition.clone(),
            time: args.time.clone(),
            cpus_per_task: args.cpus_per_task,
            mem: args.mem.clone(),
            max_parallel: args.max_parallel,
            extra: args.sbatch_arg.clone(),
            warn_seconds: args.warn_seconds,
            agents: o.agents.clone(),
        };
        // Walk-forward months warm-start from the month before: one array per month, each
        // after the one before (a month whose runs are all finished is not submitted).
        let mut after: Option<String> = None;
        for (month, cells) in slurm::arrays(&jobs, &todo) {
            let script_name = if month.is_empty() {
                "array.sbatch".to_string()
            } else {
                format!("array-{month}.sbatch")
            };
            let script = slurm::batch_script(
                &o.exe,
                &file_abs,
                &out,
                &name,
                &cells,
                &options,
                after.as_deref(),
            );
            let job_id = slurm::submit(&script, &out, &script_name, &cells)?;
            eprintln!(
                "experiment {name}: submitted {} of {} cells{} as Slurm job {job_id} ({})",
                cells.len(),
                jobs.len(),
                if month.is_empty() {
                    String::new()
                } else {
                    format!(" (test month {month})")
                },
                out.join("slurm").join(&script_name).display()
            );
            after = Some(job_id);
        }
    }
    if args.no_wait {
        outln!(
            "not waiting: `imbarb experiment {} --out {} --status` shows the cells, `--evaluate-only` collects the results",
            o.file.display(),
            out.display()
        );
        return Ok(false);
    }
    let mut last = String::new();
    loop {
        // A queue that does not answer (slurmctld restarting) is asked again at the next poll.
        let queue = match slurm::queued(&ids()?) {
            Ok(q) => q,
            Err(e) => {
                eprintln!("{e}; asking again in {} s", args.poll_seconds);
                std::thread::sleep(std::time::Duration::from_secs(args.poll_seconds));
                continue;
            }
        };
        let states = slurm::cell_states(&jobs, &queue);
        let line = counts(&states);
        if line != last {
            eprintln!("{}  {line}", chrono::Utc::now().format("%H:%M:%S"));
            last = line;
        }
        if !states
            .iter()
            .any(|s| matches!(s, CellState::Pending | CellState::Running))
        {
            let failed: Vec<String> = jobs
                .iter()
                .zip(&states)
                .filter(|(_, s)| **s == CellState::Unfinished)
                .map(|(j, _)| j.name())
                .collect();
            if !failed.is_empty() {
                eprintln!(
                    "{} cells did not finish (logs in {}): {}",
                    failed.len(),
                    out.join("slurm").display(),
                    failed.join(", ")
                );
            }
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_secs(args.poll_seconds));
    }
}
