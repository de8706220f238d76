//! `imbarb`: the command-line front end. Thin: parses arguments, calls the library crates, prints.

mod data;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
