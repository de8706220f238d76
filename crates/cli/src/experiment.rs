//! `imbarb experiment`, `imbarb quickstart` and `imbarb report`: arguments and printing; the
//! grid, the runner, the evaluation and the tables are `imbarb-experiment`'s.

use anyhow::{Context, Result};
use clap::Args;
use imbarb_experiment::quickstart::write_quickstart;
use imbarb_experiment::{
    failures_error, run_experiment, ExperimentOptions, JobDone, JobProgress, Listener,
};
use std::path::{Path, PathBuf};

/// Run an experiment grid.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb experiment experiments/smoke/experiment.toml --jobs 2
  imbarb experiment experiments/quality/experiment.toml --jobs 2 --out runs/quality

The file lists the agents (each a training config, optionally with `steps` and a `risk`
override), the seeds, the cycle caps (\"none\" or cycles/day), the baselines and, optionally,
the data (default: each agent config's own). Results: <out>/results.csv and results.md; runs in
<out>/runs, their logs in <out>/logs.")]
pub struct ExperimentArgs {
    /// The experiment file (TOML), or a record's directory (its experiment.toml).
    pub file: PathBuf,
    /// Training jobs at a time (1 to 256).
    #[arg(long, default_value_t = 1, value_parser = crate::ranges::jobs())]
    pub jobs: usize,
    /// Experiment directory (default runs/experiments/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only evaluate the finished runs (train nothing).
    #[arg(long)]
    pub evaluate_only: bool,
    /// Only these agents of the file (names, comma-separated): train and report their runs
    /// alone, e.g. to finish one agent's rows of a long grid first.
    #[arg(long, value_delimiter = ',')]
    pub agents: Option<Vec<String>>,
    /// Train nothing: write a frozen record of the experiment into DIR (its file and every
    /// agent's complete config), which later changes to the configs it names cannot change.
    #[arg(long, value_name = "DIR")]
    pub freeze: Option<PathBuf>,
    /// Where the runs train: on this machine (`local`, `--jobs` at a time) or on a Slurm
    /// cluster (`slurm`: one array task per unfinished cell, submitted with sbatch).
    #[arg(long, value_enum, default_value = "local")]
    pub backend: Backend,
    /// Slurm: the partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: each cell's time limit (e.g. 02:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm: CPUs per cell.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus_per_task: Option<u32>,
    /// Slurm: memory per cell (e.g. 4G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm: at most this many cells at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_parallel: Option<u32>,
    /// Slurm: a further #SBATCH option, e.g. --sbatch-arg=--account=abc (repeatable).
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Slurm: seconds before the time limit at which a cell checkpoints and requeues itself.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub warn_seconds: u32,
    /// Slurm: submit and return at once (`--status` shows progress, `--evaluate-only` collects).
    #[arg(long)]
    pub no_wait: bool,
    /// Slurm: seconds between looks at the queue while waiting.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub poll_seconds: u64,
    /// Print every cell's state (run directories and Slurm's queue) and exit.
    #[arg(long)]
    pub status: bool,
    /// Train exactly cell N of the grid (what each Slurm array task runs), resuming its run if
    /// it exists; SIGUSR1 or SIGTERM make it checkpoint its round and stop (exit code 3).
    #[arg(long, value_name = "N")]
    pub cell: Option<usize>,
}

/// Where an experiment's runs train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// This machine.
    Local,
    /// A Slurm cluster.
    Slurm,
}

/// Train, backtest and report in a few minutes.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb quickstart                      # embedded real Belgian prices, a few minutes on 2 cores
  imbarb quickstart --data synthetic     # the synthetic market instead
  imbarb quickstart --data my_prices.csv --out runs/mine

Trains QR-DQN (700k steps) and DSAC (400k steps) from configs/qrdqn.toml and configs/dsac.toml
(built in, risk-neutral), backtests them beside the rule, schedule and MPC baselines and the
perfect-foresight optimum on the test days, prints the table and writes report.html. The lengths
were chosen on the validation days of the embedded prices.")]
pub struct QuickstartArgs {
    /// Data: `belgium` (the embedded Elia prices, 2022-07 to 2023-08), `synthetic`, or files.
    #[arg(long, num_args = 1.., default_value = "belgium")]
    pub data: Vec<String>,
    /// Training jobs at a time (1 to 256).
    #[arg(long, default_value_t = 2, value_parser = crate::ranges::jobs())]
    pub jobs: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/quickstart")]
    pub out: PathBuf,
    /// Environment steps per agent (default: QR-DQN 700k, DSAC 400k).
    #[arg(long, value_parser = crate::ranges::steps())]
    pub steps: Option<usize>,
}

/// `imbarb quickstart`: writes the quickstart experiment into the output directory and runs it.
pub fn quickstart(args: QuickstartArgs) -> Result<()> {
    let experiment = write_quickstart(&args.out, &args.data, args.steps)?;
    run(ExperimentArgs {
        file: experiment,
        jobs: args.jobs,
        out: Some(args.out),
        evaluate_only: false,
        agents: None,
        freeze: None,
        backend: Backend::Local,
        partition: None,
        time: None,
        cpus_per_task: None,
        mem: None,
        max_parallel: None,
        sbatch_arg: vec![],
        warn_seconds: 120,
        no_wait: false,
        poll_seconds: 30,
        status: false,
        cell: None,
    })
}

/// Rebuild an experiment's report.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  imbarb report runs/experiments/smoke      # writes runs/experiments/smoke/report.html")]
pub struct ReportArgs {
    /// The experiment directory (holding evaluation.json and runs/).
    pub dir: PathBuf,
}

/// `imbarb report DIR`: report.html again from evaluation.json and the runs (no backtests).
pub fn report(args: ReportArgs) -> Result<()> {
    let path = imbarb_report::write_report(&args.dir).map_err(anyhow::Error::msg)?;
    outln!("report: {}", path.display());
    Ok(())
}

/// `imbarb experiment FILE`: trains what is missing, prints one line per finished run, then
/// the results table and where the files are.
pub fn run(mut args: ExperimentArgs) -> Result<()> {
    // A record's directory stands for its experiment file.
    if args.file.is_dir() {
        args.file = args.file.join("experiment.toml");
    }
    if let Some(dir) = &args.freeze {
        let file = imbarb_experiment::ExperimentFile::read(&args.file)?;
        let record = file.freeze(&args.file, Path::new(""), dir)?;
        outln!("frozen record: {}", record.display());
        return Ok(());
    }
    let options = ExperimentOptions {
        file: args.file.clone(),
        out: args.out.clone(),
        jobs: args.jobs,
        evaluate_only: args.evaluate_only,
        agents: args.agents.clone(),
        exe: std::env::current_exe().context("locating the imbarb binary")?,
    };
    if let Some(cell) = args.cell {
        return crate::cluster::run_cell(&options, cell);
    }
    if args.status {
        return crate::cluster::status(&options);
    }
    if args.backend == Backend::Slurm && !args.evaluate_only {
        let done = crate::cluster::run_on_slurm(&options, &args)?;
        if !done {
            return Ok(());
        }
    }
    let options = ExperimentOptions {
        evaluate_only: options.evaluate_only || args.backend == Backend::Slurm,
        ..options
    };
    let on_start = |name: &str, runs: usize, dir: &Path| {
        eprintln!(
            "experiment {name}: {runs} runs, {} at a time -> {}",
            options.jobs.max(1),
            dir.display()
        );
    };
    // One bar per run on a terminal (fed at each of its validations); elsewhere only the line
    // per finished run.
    let bars = indicatif::MultiProgress::new();
    let by_run: std::sync::Mutex<Vec<(String, indicatif::ProgressBar)>> = Default::default();
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:30} {bar:25} {pos:>9}/{len:9} steps {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let on_tick = |runs: &[JobProgress]| {
        let Ok(mut known) = by_run.lock() else { return };
        for r in runs {
            let bar = match known.iter().find(|(n, _)| *n == r.name) {
                Some((_, b)) => b.clone(),
                None => {
                    let b = bars.add(indicatif::ProgressBar::new(r.total as u64));
                    b.set_style(style.clone());
                    b.set_prefix(r.name.clone());
                    known.push((r.name.clone(), b.clone()));
                    b
                }
            };
            bar.set_position(r.step as u64);
            if let Some(v) = r.validation {
                bar.set_message(format!("validation {v:.1} EUR/day"));
            }
        }
    };
    let on_done = |d: &JobDone| {
        let line = match &d.result {
            Ok(line) => format!("[{}/{}] {}: {line}", d.done, d.total, d.name),
            Err(e) => format!("[{}/{}] {} FAILED: {e}", d.done, d.total, d.name),
        };
        // Above the bars on a terminal, plain on stderr otherwise.
        if bars.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = bars.println(line);
        }
    };
    let listener = Listener {
        on_done: &on_done,
        on_tick: &on_tick,
    };
    let outcome = run_experiment(&options, &on_start, &listener)?;
    let _ = bars.clear();
    out!("{}", outcome.results_md);
    let [csv, md, report] = &outcome.files;
    outln!(
        "results: {}, {} and {}",
        csv.display(),
        md.display(),
        report.display()
    );
    failures_error(&outcome)
}
