//! `imbarb oracle` and `imbarb backtest`.

use crate::setup::{Setup, SetupArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use imbarb_baselines::{ForecastMpc, Idle, ThresholdRule, TimeOfDaySchedule};
use imbarb_eval::{backtest, oracle_policy, render_table, Backtest, Metrics, Oracle};
use imbarb_market::write::write_atomic;
use imbarb_sim::{ActionSpace, Policy};
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb oracle                                   # embedded synthetic market, test days
  imbarb oracle --data ../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv --cap 1.1
  imbarb oracle --actions discrete:3 --soc fixed --json")]
pub struct OracleArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb backtest --policy rule,schedule,mpc,idle,oracle
  imbarb backtest --policy mpc --data ../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv --cap 1.1
  imbarb backtest --policy rule --actions discrete:3 --granularity minute --out runs/rule --json

Policies: rule (threshold on the last known price, fitted on training days), schedule (time of
day, fitted on training days), mpc (rolling LP on a persistence + profile forecast), idle, oracle
(perfect foresight replayed in the simulator). % PF is profit as a share of the perfect-foresight
optimum on the same days and constraints.")]
pub struct BacktestArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Policies, comma separated: rule, schedule, mpc, idle, oracle, run:<dir> (a trained run).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rule,schedule,mpc,idle,oracle"
    )]
    pub policy: Vec<String>,
    /// MPC look-ahead in quarter-hours.
    #[arg(long, default_value_t = DEFAULT_MPC_HORIZON)]
    pub mpc_horizon: usize,
    /// Write ledger (per quarter-hour) and daily P&L CSVs per policy to this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn oracle(args: OracleArgs) -> Result<()> {
    let s = args.setup.build()?;
    let t = std::time::Instant::now();
    let o = Oracle::solve(&s.days, &s.eval, &s.config).map_err(anyhow::Error::msg)?;
    let secs = t.elapsed().as_secs_f64();
    let n = s.eval.len() as f64;
    let per_day = o.total_eur() / n;
    let cycles = o.schedule.day_cycles.iter().sum::<f64>() / n;
    if args.json {
        let v = serde_json::json!({
            "method": o.method, "days": s.eval.len(), "total_eur": o.total_eur(),
            "eur_per_day": per_day, "cycles_per_day": cycles, "seconds": secs,
            "synthetic": s.days.synthetic, "data_hash": s.data_hash,
            "daily": s.eval.iter().zip(&o.schedule.day_profit_eur).map(|(d, p)| serde_json::json!({
                "date": s.days.days[*d].date.to_string(), "profit_eur": p})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", s.describe());
        println!(
            "perfect foresight ({}): {per_day:.1} EUR/day, {cycles:.2} cycles/day, {:.0} EUR over {} days (solved in {secs:.2} s)",
            o.method,
            o.total_eur(),
            s.eval.len()
        );
    }
    Ok(())
}

/// The MPC look-ahead (quarter-hours) of backtests, experiments and the quickstart: four hours,
/// the horizon the shipped MPC baseline figures use.
pub const DEFAULT_MPC_HORIZON: usize = 16;

/// Backtests the policy named `name` (as `make_policy` takes it) on `s`'s evaluation days, with
/// its metrics, % of perfect foresight from `oracle` included.
pub fn run_policy(
    name: &str,
    s: &Setup,
    oracle: &Oracle,
    horizon: usize,
) -> Result<(Backtest, Metrics)> {
    let mut policy = make_policy(name, s, oracle, horizon)?;
    let bt = backtest(&s.days, &s.features, &s.config, &s.eval, policy.as_mut())
        .map_err(anyhow::Error::msg)?;
    let battery = &s.config.battery;
    let rated = battery.discharge_power_mw.max(battery.charge_power_mw);
    let m = Metrics::of(&bt, Some(oracle.total_eur()), rated);
    Ok((bt, m))
}

/// The policy named `name` (a baseline, the oracle's replay or `run:<dir>`) for setup `s`.
pub fn make_policy(
    name: &str,
    s: &Setup,
    oracle: &Oracle,
    horizon: usize,
) -> Result<Box<dyn Policy>> {
    let e = anyhow::Error::msg;
    Ok(match name {
        "rule" => {
            Box::new(ThresholdRule::fit(&s.days, &s.features, &s.config, &s.train).map_err(e)?)
        }
        "schedule" => {
            Box::new(TimeOfDaySchedule::fit(&s.days, &s.features, &s.config, &s.train).map_err(e)?)
        }
        "mpc" => Box::new(
            ForecastMpc::fit(
                &s.days,
                &s.train,
                s.config.battery,
                s.config.actions,
                horizon,
            )
            .map_err(e)?,
        ),
        "idle" => Box::new(Idle {
            space: s.config.actions,
        }),
        "oracle" => Box::new(oracle_policy(oracle, &s.eval, &s.config)),
        other => match other.strip_prefix("run:") {
            Some(dir) => Box::new(
                imbarb_agents::RunPolicy::load(
                    std::path::Path::new(dir),
                    &s.days,
                    &s.train,
                    &s.config,
                )
                .with_context(|| format!("loading trained run {dir}"))?,
            ),
            None => bail!(
                "unknown policy `{other}`: expected rule, schedule, mpc, idle, oracle or run:<dir>"
            ),
        },
    })
}

/// The `--actions` value of the trained runs among `policies` (`run:<dir>`), when they agree:
/// evaluating a run on another action space than it learned on silently changes its results
/// (a 3-level agent on continuous power may execute partial moves it never chose). `None` when
/// no run is named; an error when runs disagree or a manifest cannot be read.
pub fn runs_action_space(policies: &[String]) -> Result<Option<String>> {
    let mut found: Option<(String, String)> = None;
    for dir in policies
        .iter()
        .filter_map(|p| p.trim().strip_prefix("run:"))
    {
        let manifest = imbarb_agents::trainer::read_manifest(std::path::Path::new(dir))
            .with_context(|| format!("reading the manifest of trained run {dir}"))?;
        let actions = match manifest.config.env.actions {
            ActionSpace::Continuous => "continuous".to_string(),
            ActionSpace::Discrete { levels } => format!("discrete:{levels}"),
        };
        match &found {
            Some((first, other)) if *first != actions => bail!(
                "trained runs {other} ({first}) and {dir} ({actions}) act on different action \
                 spaces: choose one with --actions"
            ),
            Some(_) => {}
            None => found = Some((actions, dir.to_string())),
        }
    }
    Ok(found.map(|(actions, _)| actions))
}

pub fn backtest_cmd(mut args: BacktestArgs) -> Result<()> {
    if args.setup.actions.is_none() {
        args.setup.actions = runs_action_space(&args.policy)?;
    }
    let s = args.setup.build()?;
    let oracle = Oracle::solve(&s.days, &s.eval, &s.config).map_err(anyhow::Error::msg)?;
    let mut results: Vec<(Backtest, Metrics)> = vec![];
    for name in &args.policy {
        let (bt, m) = run_policy(name.trim(), &s, &oracle, args.mpc_horizon)?;
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)?;
            let stem: String = name
                .trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            write_atomic(
                &dir.join(format!("{stem}_ledger.csv")),
                bt.ledger_csv().as_bytes(),
            )?;
            write_atomic(
                &dir.join(format!("{stem}_daily.csv")),
                bt.daily_csv().as_bytes(),
            )?;
        }
        results.push((bt, m));
    }
    let metrics: Vec<Metrics> = results.iter().map(|r| r.1.clone()).collect();
    if args.json {
        let v = serde_json::json!({
            "oracle": { "method": oracle.method, "total_eur": oracle.total_eur(),
                        "eur_per_day": oracle.total_eur() / s.eval.len() as f64 },
            "synthetic": s.days.synthetic, "surrogate_minute_qhs": s.days.surrogate_qhs,
            "data_hash": s.data_hash, "metrics": metrics,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", s.describe());
        println!(
            "perfect foresight ({}): {:.1} EUR/day\n",
            oracle.method,
            oracle.total_eur() / s.eval.len() as f64
        );
        print!("{}", render_table(&metrics));
        if let Some(dir) = &args.out {
            println!("\nledgers and daily P&L written to {}", dir.display());
        }
    }
    Ok(())
}
