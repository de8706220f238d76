//! `imbarb forecast`: trains the probabilistic forecaster on the training days, scores it and the
//! naive forecasts per horizon on the evaluation days, and writes its quantiles to CSV.

use crate::setup::DataArgs;
use anyhow::{Context, Result};
use clap::Args;
use imbarb_experiment::build_setup;
use imbarb_plan::forecast::rows;
use imbarb_plan::{evaluate, ForecastConfig, HorizonScores, QuantileForecaster};
use imbarb_sim::EnvConfig;
use imbarb_util::fs::write_atomic;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb forecast                                   # embedded Belgian prices, paper split, test days
  imbarb forecast --data prices.csv day_ahead.csv --split walk-forward:2024-10-01:14 --out f.csv

Scores per horizon (1 = the current quarter-hour): CRPS (EUR/MWh, lower is better), coverage of
the 10-90 % interval (0.80 when calibrated), MAE of the median. Persistence, profile and
day-ahead are made probabilistic with their own training residuals' quantiles.")]
pub struct ForecastArgs {
    #[command(flatten)]
    pub source: DataArgs,
    /// Quarter-hours forecast (1 to 96).
    #[arg(long, default_value_t = 16)]
    pub horizon: usize,
    /// Gradient steps.
    #[arg(long, default_value_t = ForecastConfig::default().steps)]
    pub steps: usize,
    /// Seed of the weights and minibatches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Do not read the day-ahead curve even where the data has one.
    #[arg(long)]
    pub no_day_ahead: bool,
    /// Write every evaluation row's quantiles here (CSV).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ForecastArgs) -> Result<()> {
    let a = &args.source;
    let setup =
        build_setup(&a.data, &a.split, EnvConfig::default(), 0, a.days).context("--data")?;
    let config = ForecastConfig {
        horizon: args.horizon,
        steps: args.steps,
        seed: args.seed,
        day_ahead: !args.no_day_ahead,
        ..ForecastConfig::default()
    };
    eprintln!(
        "training the forecaster ({} quarter-hours, {} steps) on {} training days",
        config.horizon,
        config.steps,
        setup.train.len()
    );
    let forecaster = QuantileForecaster::fit(&setup.days, &setup.train, &config)?;
    if forecaster.observation.uses_day_ahead() {
        eprintln!(
            "reading the day-ahead curve of the next {} quarter-hours as published: it lowered the validation loss (--no-day-ahead: never)",
            forecaster.observation.day_ahead
        );
    } else if config
        .observation_on(&setup.days, &setup.train)
        .uses_day_ahead()
    {
        eprintln!("not reading the day-ahead curve: it did not lower the validation loss");
    }
    let scores = evaluate(&forecaster, &setup.days, &setup.train, &setup.eval)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&scores)?);
    } else {
        print!("{}", table(&scores, config.horizon));
        eprintln!(
            "validation pinball {:.2} EUR/MWh at step {}",
            forecaster.validation.0, forecaster.validation.1
        );
    }
    if let Some(path) = &args.out {
        let text = quantiles_csv(&forecaster, &setup)?;
        write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("quantiles: {}", path.display());
    }
    Ok(())
}

/// Per horizon, every forecast's CRPS, and the forecaster's coverage and MAE.
fn table(scores: &[HorizonScores], horizon: usize) -> String {
    let names: Vec<&str> = {
        let mut v: Vec<&str> = scores.iter().map(|s| s.forecast.as_str()).collect();
        v.dedup();
        v
    };
    let mut out = String::from("| horizon |");
    for n in &names {
        let _ = write!(out, " CRPS {n} |");
    }
    out.push_str(" coverage 80 % (forecaster) | MAE median (forecaster) |\n|---:|");
    out.push_str(&"---:|".repeat(names.len() + 2));
    out.push('\n');
    for h in 1..=horizon {
        let _ = write!(out, "| {h} |");
        for n in &names {
            match scores.iter().find(|s| s.forecast == *n && s.horizon == h) {
                Some(s) => {
                    let _ = write!(out, " {:.1} |", s.crps);
                }
                None => out.push_str(" - |"),
            }
        }
        if let Some(s) = scores
            .iter()
            .find(|s| s.forecast == "forecaster" && s.horizon == h)
        {
            let _ = write!(out, " {:.3} | {:.1} |", s.coverage_80, s.mae_median);
        }
        out.push('\n');
    }
    out
}

/// The forecaster's quantiles for every evaluation row: decision time, horizon, target time,
/// the realised price and one column per level.
fn quantiles_csv(f: &QuantileForecaster, s: &imbarb_experiment::Setup) -> Result<String> {
    let features = f.features_for(&s.days)?;
    let h = f.config.horizon;
    let r = rows(&s.days, &features, &s.eval, h);
    let taus = f.config.taus();
    let mut out = String::from("decision_utc,horizon,target_utc,price_eur_mwh");
    for t in &taus {
        let _ = write!(out, ",q{:02}", (t * 100.0).round() as u32);
    }
    out.push('\n');
    let k = taus.len();
    f.for_each_prediction(&r.x, |i, q| {
        let (d, qh) = r.at[i];
        let g = s.days.days[d].grid_offset + qh;
        for t in 0..h {
            let _ = write!(
                out,
                "{},{},{},{}",
                s.days.qh_start(g).format("%Y-%m-%dT%H:%M:%SZ"),
                t + 1,
                s.days.qh_start(g + t).format("%Y-%m-%dT%H:%M:%SZ"),
                r.y[i * h + t]
            );
            for v in &q[t * k..(t + 1) * k] {
                let _ = write!(out, ",{v:.3}");
            }
            out.push('\n');
        }
    });
    Ok(out)
}
