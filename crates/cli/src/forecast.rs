//! `imbarb forecast`: trains the probabilistic forecaster (the quantile MLP, or its
//! gradient-boosted tree baseline) on the training days, scores it and the naive forecasts per
//! horizon on the evaluation days, and writes its quantiles to CSV.

use crate::setup::DataArgs;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use imbarb_experiment::build_setup;
use imbarb_plan::forecast::rows;
use imbarb_plan::{
    evaluate, ForecastConfig, GbdtConfig, GbdtForecaster, HorizonScores, QuantileForecaster,
    QuantileModel, TreeSettings,
};
use imbarb_sim::EnvConfig;
use imbarb_util::fs::write_atomic;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb forecast                                   # embedded Belgian prices, paper split, test days
  imbarb forecast --data prices.csv day_ahead.csv --split walk-forward:2024-10-01:14 --out f.csv
  imbarb forecast --model gbdt                      # gradient-boosted trees on the same features

Scores per horizon (1 = the current quarter-hour): CRPS (EUR/MWh, lower is better), coverage of
the 10-90 % interval (0.80 when calibrated), MAE of the median. Persistence, profile and
day-ahead are made probabilistic with their own training residuals' quantiles.")]
pub struct ForecastArgs {
    #[command(flatten)]
    pub source: DataArgs,
    /// Quarter-hours forecast (1 to 96).
    #[arg(long, default_value_t = 16)]
    pub horizon: usize,
    /// The model: the quantile MLP, or gradient-boosted trees (one ensemble per horizon).
    #[arg(long, value_enum, default_value_t = Model::Mlp)]
    pub model: Model,
    /// Gradient steps (mlp only; default 12000, the forecaster's own).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Most boosting rounds per horizon; early stopping on the held-out training days picks
    /// fewer (gbdt only; default 400).
    #[arg(long)]
    pub max_rounds: Option<usize>,
    /// Depth of each tree (gbdt only; default 6).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Learning rate of the boosting (gbdt only; default 0.1).
    #[arg(long)]
    pub eta: Option<f64>,
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

/// Which forecaster `imbarb forecast` trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Model {
    /// The quantile MLP on imbarb-nn (the forecaster the planners and agents read).
    Mlp,
    /// Gradient-boosted trees (hessboost, XGBoost's quantile loss): the tree baseline.
    Gbdt,
}

/// Refuses a flag the chosen model does not read (it would otherwise be silently ignored).
fn check_flags_for_model(args: &ForecastArgs) -> Result<()> {
    let (model, flags) = match args.model {
        Model::Mlp => (
            "mlp",
            [
                ("--max-rounds", args.max_rounds.is_some()),
                ("--max-depth", args.max_depth.is_some()),
                ("--eta", args.eta.is_some()),
            ]
            .to_vec(),
        ),
        Model::Gbdt => ("gbdt", vec![("--steps", args.steps.is_some())]),
    };
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => anyhow::bail!(
            "{flag} does not apply to --model {model} (the tree flags are --max-rounds, --max-depth and --eta; the MLP's --steps)"
        ),
        None => Ok(()),
    }
}

pub fn run(args: ForecastArgs) -> Result<()> {
    check_flags_for_model(&args)?;
    let a = &args.source;
    let setup =
        build_setup(&a.data, &a.split, EnvConfig::default(), 0, a.days).context("--data")?;
    let config = ForecastConfig {
        horizon: args.horizon,
        steps: args.steps.unwrap_or(ForecastConfig::default().steps),
        seed: args.seed,
        day_ahead: !args.no_day_ahead,
        ..ForecastConfig::default()
    };
    let model: Box<dyn QuantileModel> = match args.model {
        Model::Mlp => {
            eprintln!(
                "training the quantile MLP ({} quarter-hours, {} steps) on {} training days",
                config.horizon,
                config.steps,
                setup.train.len()
            );
            let f = QuantileForecaster::fit(&setup.days, &setup.train, &config)?;
            eprintln!(
                "validation pinball {:.2} EUR/MWh at step {}",
                f.validation.0, f.validation.1
            );
            Box::new(f)
        }
        Model::Gbdt => {
            let gbdt = GbdtConfig {
                base: config.clone(),
                trees: {
                    let d = TreeSettings::default();
                    TreeSettings {
                        max_rounds: args.max_rounds.unwrap_or(d.max_rounds),
                        max_depth: args.max_depth.unwrap_or(d.max_depth),
                        eta: args.eta.unwrap_or(d.eta),
                        ..d
                    }
                },
            };
            eprintln!(
                "training gradient-boosted trees ({} quarter-hours, depth {}, eta {}, at most {} rounds) on {} training days",
                config.horizon,
                gbdt.trees.max_depth,
                gbdt.trees.eta,
                gbdt.trees.max_rounds,
                setup.train.len()
            );
            let f = GbdtForecaster::fit(&setup.days, &setup.train, &gbdt)?;
            eprintln!(
                "validation pinball {:.2} EUR/MWh; rounds kept per horizon {:?}",
                f.validation, f.rounds
            );
            Box::new(f)
        }
    };
    if model.observation().uses_day_ahead() {
        eprintln!(
            "reading the day-ahead curve of the next {} quarter-hours as published: it lowered the validation loss (--no-day-ahead: never)",
            model.observation().day_ahead
        );
    } else if config
        .observation_on(&setup.days, &setup.train)
        .uses_day_ahead()
    {
        eprintln!("not reading the day-ahead curve: it did not lower the validation loss");
    }
    let scores = evaluate(model.as_ref(), &setup.days, &setup.train, &setup.eval)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&scores)?);
    } else {
        print!("{}", table(&scores, config.horizon));
    }
    if let Some(path) = &args.out {
        let text = quantiles_csv(model.as_ref(), &setup)?;
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
fn quantiles_csv(f: &dyn QuantileModel, s: &imbarb_experiment::Setup) -> Result<String> {
    let features = f.features_for(&s.days)?;
    let h = f.horizon();
    let r = rows(&s.days, &features, &s.eval, h);
    let taus = f.taus();
    let mut out = String::from("decision_utc,horizon,target_utc,price_eur_mwh");
    for t in &taus {
        let _ = write!(out, ",q{:02}", (t * 100.0).round() as u32);
    }
    out.push('\n');
    let k = taus.len();
    f.for_each_quantiles(&r.x, &mut |i, q| {
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
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command};

    /// The help's stated defaults are the code's (the flags are options so that a flag of the
    /// other model can be refused, which leaves the defaults to the doc comments).
    #[test]
    fn the_help_states_the_codes_defaults() {
        let help = ForecastArgs::augment_args(Command::new("forecast"))
            .render_long_help()
            .to_string();
        let (f, t) = (ForecastConfig::default(), TreeSettings::default());
        for stated in [
            format!("mlp only; default {}", f.steps),
            format!("gbdt only; default {})", t.max_rounds),
            format!("gbdt only; default {})", t.max_depth),
            format!("gbdt only; default {})", t.eta),
        ] {
            assert!(help.contains(&stated), "{stated} not in:\n{help}");
        }
    }
}
