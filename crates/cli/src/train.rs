//! `imbarb train`: trains an agent (value-based or actor-critic) from a TOML config into a run
//! directory, resuming an interrupted run in the same directory.

use anyhow::{Context, Result};
use clap::Args;
use imbarb_agents::config::Deploy;
use imbarb_agents::{train, TrainConfig, TrainOptions, TrainOverrides};
use imbarb_experiment::training_setup;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  imbarb train --config configs/qrdqn.toml
  imbarb train --config configs/iqn.toml --cap 1.1 --seed 2
  imbarb train --config configs/qrdqn.toml --data synthetic --steps 50000 --out runs/try
  imbarb backtest --policy run:runs/qrdqn-seed0,rule,mpc --actions discrete:3";

/// Train an agent.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct TrainArgs {
    /// The run's config (TOML; see configs/).
    #[arg(long)]
    pub config: PathBuf,
    /// Run directory (default runs/<config name>[-cap<C>]-seed<N>); an existing run there resumes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the config's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the config's data sources.
    #[arg(long, num_args = 1..)]
    pub data: Option<Vec<String>>,
    /// Override the daily cycle cap (full equivalent cycles per day).
    #[arg(long)]
    pub cap: Option<f64>,
    /// Override the number of environment steps.
    #[arg(long, value_parser = crate::ranges::steps())]
    pub steps: Option<usize>,
    /// Share fitted forecasters (`forecast_features`) through this folder: a run fitting one
    /// already fitted on the same data, days and settings reads it instead (`imbarb experiment`
    /// gives its runs one).
    #[arg(long)]
    pub forecaster_cache: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Stop when standard input closes: how `imbarb experiment` makes the runs it starts end
    /// with it (the run resumes from its last checkpoint when the experiment is run again).
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
}

/// Watches standard input on a thread and ends the process when it closes (its writer, the
/// parent, has ended). Checkpoints are written atomically, so stopping at any instant is safe.
fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        use std::io::Read;
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        eprintln!(
            "the parent process ended: stopping (run again to resume from the last checkpoint)"
        );
        std::process::exit(3);
    });
}

/// Reads the config and applies the command-line overrides.
pub fn resolve_config(args: &TrainArgs) -> Result<TrainConfig> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let origin = args.config.display().to_string();
    let config = TrainConfig::from_toml(&text, &origin).map_err(anyhow::Error::msg)?;
    if let Some(cap) = args.cap {
        crate::ranges::cycles().check("--cap", cap)?;
    }
    config
        .overridden(TrainOverrides {
            seed: args.seed,
            data: args.data.clone(),
            cap: args.cap,
            steps: args.steps,
        })
        .map_err(|e| anyhow::anyhow!("{origin}: {e}"))
}

pub fn run(args: TrainArgs) -> Result<()> {
    run_with(args, None).map(|_| ())
}

/// `run`, stopping with a checkpoint when `stop` is set (a signal); true when the run finished.
pub fn run_with(
    args: TrainArgs,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> Result<bool> {
    if args.exit_with_parent {
        exit_when_stdin_closes();
    }
    let config = resolve_config(&args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .map_or("run".into(), |s| s.to_string_lossy().to_string());
        let cap = config
            .env
            .battery
            .cycles_per_day
            .map_or(String::new(), |c| format!("-cap{c}"));
        PathBuf::from("runs").join(format!("{stem}{cap}-seed{}", config.seed))
    });
    // Data errors name where the data came from: the flag, or the config file.
    let cache = args
        .forecaster_cache
        .as_ref()
        .map(imbarb_experiment::ForecasterCache::new);
    let s =
        training_setup(&config, Some(&out), cache.as_ref()).with_context(|| match args.data {
            Some(_) => "--data".to_string(),
            None => args.config.display().to_string(),
        })?;
    eprintln!(
        "training {} (seed {}) on {}{} training days, {} validation days -> {}",
        config.algo.name(),
        config.seed,
        if s.days.synthetic {
            "SYNTHETIC DATA, "
        } else {
            ""
        },
        s.train.len(),
        s.eval.len(),
        out.display()
    );
    let data = s.train_data();
    let options = TrainOptions {
        progress: !args.quiet,
        stop_after_rounds: None,
        stop,
    };
    let outcome = train(&data, &config, &out, &options)?;
    // A finished run called again does nothing: it has no rate of its own to show.
    let rates = if outcome.env_steps_per_s > 0.0 {
        format!(
            "{:.0} env steps/s, {:.0} updates/s",
            outcome.env_steps_per_s, outcome.updates_per_s
        )
    } else {
        "already finished".to_string()
    };
    // The validation of the network the run deploys (`training.deploy`).
    let deployed = match config.training.deploy {
        Deploy::BestValidation => "best validation",
        Deploy::Final => "final network's validation",
    };
    match &outcome.best {
        Some(b) => outln!(
            "{}: {deployed} {:.1} EUR/day ({:.2} cycles/day) at step {}; {} steps, {} updates ({rates})",
            out.display(),
            b.eur_per_day,
            b.cycles_per_day,
            b.step,
            outcome.steps,
            outcome.updates,
        ),
        None => outln!("{}: no validation yet", out.display()),
    }
    if !outcome.finished {
        outln!(
            "{}: stopped at step {} with a checkpoint; run again to resume",
            out.display(),
            outcome.steps
        );
    }
    Ok(outcome.finished)
}
