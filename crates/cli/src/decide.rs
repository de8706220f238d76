//! `imbarb decide`: a trained run's set-point for the next decision time, from the data
//! published so far and the battery's measured state.

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_market::source::{load_sources, DataSource};
use std::path::PathBuf;

/// Decide now.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb data fetch ods162 --from 2026-12-06 --to 2026-12-06 --out today.csv
  imbarb decide --run runs/qrdqn-seed0 --data history.csv today.csv --soc-mwh 1.2 --cycles-used 0.8
  imbarb decide --run runs/qrdqn-seed0 --data belgium --soc-mwh 1 --cycles-used 0 \\
      --at 2023-08-30T12:00:00Z --json

The decision holds from --at (default: the quarter-hour, or minute, after the newest data) for
one quarter-hour (or minute). Only data published before --at is used: a quarter-hour's price
from its end, a running estimate from the end of its minute. The set-point is in MW, > 0
discharge. --json prints the decision as JSON (schema 1: at, granularity, level, fraction,
power_mw, scores[level, power_mw, allowed, score, mean_eur, quantiles_eur], latest_data_utc,
data_age_s, state, cycles_left, missing_components, run[dir, algo, manifest_sha256,
code_version]).")]
pub struct DecideArgs {
    /// The trained run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Market data published so far: files (merged) or `belgium`.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<DataSource>,
    /// Energy in the cells now, MWh.
    #[arg(long)]
    pub soc_mwh: f64,
    /// Full equivalent cycles used since Brussels midnight.
    #[arg(long)]
    pub cycles_used: f64,
    /// The decision time (RFC 3339, e.g. 2024-06-01T12:15:00Z); default: after the newest data.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// The oldest the newest data may be at the decision time, minutes (default: 30 for
    /// quarter-hour runs, 5 for minute runs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_age_min: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DecideArgs) -> Result<()> {
    let mut decider = Decider::load(&args.run)?;
    if let Some(m) = args.max_age_min {
        decider.max_age = TimeDelta::minutes(i64::from(m));
    }
    let market = load_sources(&args.data).context("--data")?;
    let state = BatteryState {
        soc_mwh: args.soc_mwh,
        cycles_used: args.cycles_used,
    };
    let decided = decider.decide(&market, state, args.at)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&decided)?);
    } else {
        outln!("{decided}");
    }
    Ok(())
}
