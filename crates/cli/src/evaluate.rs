//! `imbarb oracle` and `imbarb backtest`.

use crate::setup::SetupArgs;
use anyhow::{Context, Result};
use clap::Args;
use imbarb_baselines::mpc::MAX_MPC_HORIZON;
use imbarb_eval::{render_table, Backtest, Metrics, Oracle};
use imbarb_experiment::{
    ledger_stems, run_policy, runs_action_space, runs_granularity, PolicySpec, DEFAULT_MPC_HORIZON,
};
use imbarb_util::fs::write_atomic;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb oracle                                   # embedded Belgian prices, test days
  imbarb oracle --cap 1.1 --data my_prices.csv
  imbarb oracle --actions discrete:3 --soc fixed --data synthetic --json

The optimum is over continuous power (an LP) unless --actions says otherwise: agents on N levels
compare with --actions discrete:N (the exact DP, or an LP bound where a cap meets a carried SoC).")]
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
  imbarb backtest --policy mpc --cap 1.1 --data synthetic
  imbarb backtest --policy rule --actions discrete:3 --granularity minute --out runs/rule --json

Policies: rule (threshold on the last known price, fitted on training days), schedule (time of
day, fitted on training days), mpc (rolling LP on a persistence + profile forecast fitted on the
training days), mpc-rolling[:DAYS] (the same MPC refit every day on the last DAYS days before it,
28 by default, as the live service's shadow), smpc[:SEED] (two-stage LP over 50 price paths from
a quantile forecaster trained on the training days), plan (the planner the agents observe),
plan-mpc-rolling[:DAYS] (that planner over the rolling MPC's forecast), plan-mpc-rolling-terminal[:DAYS]
(the same, valuing stored energy at the window's mean price as the rolling MPC does), idle, oracle
(perfect foresight replayed in the simulator). % PF is profit as a share of the perfect-foresight
optimum on the same days and constraints.")]
pub struct BacktestArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Policies, comma separated: rule, schedule, mpc, mpc-rolling[:DAYS], smpc[:SEED], plan, plan-mpc-rolling[:DAYS], plan-mpc-rolling-terminal[:DAYS], idle, oracle, run:<dir> (a trained run), run-plan:<dir> (the planner a trained run observes, acting alone).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rule,schedule,mpc,idle,oracle"
    )]
    pub policy: Vec<PolicySpec>,
    /// MPC look-ahead in quarter-hours (1 to 672, a week; smpc: 1 to 96).
    #[arg(
        long,
        default_value_t = DEFAULT_MPC_HORIZON,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_MPC_HORIZON as u64)
    )]
    pub mpc_horizon: usize,
    /// Write ledger (per quarter-hour) and daily P&L CSVs per policy to this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `imbarb oracle`: the perfect-foresight optimum on the chosen days.
pub fn oracle(args: OracleArgs) -> Result<()> {
    let s = args.setup.build()?;
    let t = std::time::Instant::now();
    let o = Oracle::solve(&s.days, &s.eval, &s.config)?;
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
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{}", s.describe());
        outln!(
            "perfect foresight ({}): {per_day:.1} EUR/day, {cycles:.2} cycles/day, {:.0} EUR over {} days (solved in {secs:.2} s)",
            o.method,
            o.total_eur(),
            s.eval.len()
        );
    }
    Ok(())
}

/// `imbarb backtest`: the policies on the chosen days, as a table or JSON, with ledgers.
pub fn backtest_cmd(mut args: BacktestArgs) -> Result<()> {
    if args.setup.actions.is_none() {
        args.setup.actions = runs_action_space(&args.policy)?;
    }
    if args.setup.granularity.is_none() {
        args.setup.granularity = runs_granularity(&args.policy)?;
    }
    let s = args.setup.build()?;
    let oracle = Oracle::solve(&s.days, &s.eval, &s.config)?;
    let mut results: Vec<(Backtest, Metrics)> = vec![];
    let stems = ledger_stems(&args.policy);
    for (name, stem) in args.policy.iter().zip(&stems) {
        let (bt, m) = run_policy(name, &s, &oracle, args.mpc_horizon)?;
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
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
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{}", s.describe());
        outln!(
            "perfect foresight ({}): {:.1} EUR/day\n",
            oracle.method,
            oracle.total_eur() / s.eval.len() as f64
        );
        out!("{}", render_table(&metrics));
        if let Some(dir) = &args.out {
            outln!("\nledgers and daily P&L written to {}", dir.display());
        }
    }
    Ok(())
}
