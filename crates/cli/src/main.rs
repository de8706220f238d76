//! `imbarb`: the command-line front end. Thin: parses arguments, calls the library crates, prints.

#[macro_use]
mod out;
mod cluster;
mod config;
mod data;
mod decide;
mod evaluate;
mod experiment;
mod forecast;
mod lifecycle;
mod live;
mod ranges;
mod setup;
mod train;

use clap::{Parser, Subcommand};

/// Risk-sensitive battery arbitrage in the Belgian imbalance settlement.
#[derive(Debug, Parser)]
#[command(name = "imbarb", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, check, convert and generate market data.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Show training configs: every field, its default and what it does.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Perfect-foresight optimum (exact DP for discrete actions, LP for continuous power).
    Oracle(evaluate::OracleArgs),
    /// Backtest policies (rule, schedule, mpc, smpc, plan, idle, oracle, run:<dir>, run-plan:<dir>) and print their metrics.
    Backtest(evaluate::BacktestArgs),
    /// Train the probabilistic price forecaster, score it against persistence, profile and
    /// day-ahead per horizon, and write its quantiles to CSV.
    Forecast(forecast::ForecastArgs),
    /// Train an agent (DQN, C51, QR-DQN, IQN; SAC or DSAC on levels or continuous power) from a config file.
    Train(train::TrainArgs),
    /// The set-point of a trained run for the next decision time, from the data published so far
    /// and the battery's state.
    Decide(decide::DecideArgs),
    /// The decision service: live on Elia's data, or replaying recorded days (paper trading).
    Live(live::LiveArgs),
    /// Train a challenger from a deployed run on data up to a date, and compare it with the run
    /// and the baselines on the most recent days.
    Retrain(lifecycle::RetrainArgs),
    /// Make a retrained candidate the deployed model (atomic; refused without evidence).
    Promote(lifecycle::PromoteArgs),
    /// Return to the model before the latest promotion.
    Rollback(lifecycle::RollbackArgs),
    /// Run an experiment grid (agents x caps x seeds), backtest every run and write results.csv / results.md.
    Experiment(experiment::ExperimentArgs),
    /// Rebuild an experiment's report.html from its evaluation.json and runs.
    Report(experiment::ReportArgs),
    /// Train QR-DQN and DSAC briefly, backtest them beside the baselines, print the table and write the report.
    Quickstart(experiment::QuickstartArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Config(cmd) => config::run(cmd),
        Command::Oracle(args) => evaluate::oracle(args),
        Command::Backtest(args) => evaluate::backtest_cmd(args),
        Command::Forecast(args) => forecast::run(args),
        Command::Train(args) => train::run(args),
        Command::Decide(args) => decide::run(args),
        Command::Live(args) => live::run(args),
        Command::Retrain(args) => lifecycle::retrain(args),
        Command::Promote(args) => lifecycle::promote(args),
        Command::Rollback(args) => lifecycle::rollback(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Report(args) => experiment::report(args),
        Command::Quickstart(args) => experiment::quickstart(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of a pipe stopped reading (`| head`): it has what it wanted.
        Err(e) if out::is_closed_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
