//! `imbarb config show`: a training config with every field, its default and a line of
//! documentation.

use anyhow::{Context, Result};
use clap::Subcommand;
use imbarb_agents::config_doc::annotated;
use imbarb_agents::TrainConfig;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a config with every field: an algorithm's defaults, or a config file's values
    /// beside the defaults they change.
    #[command(after_help = "Examples:
  imbarb config show qr-dqn            # every field of a QR-DQN config at its default
  imbarb config show configs/dsac.toml # the shipped DSAC config, with the defaults it changes

Algorithms: dqn, c51, qr-dqn, iqn, sac, dsac. The output is itself a valid config file.")]
    Show {
        /// An algorithm name or a config file.
        what: String,
    },
}

pub fn run(cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Show { what } => {
            let config = if Path::new(&what).is_file() {
                let text =
                    std::fs::read_to_string(&what).with_context(|| format!("reading {what}"))?;
                TrainConfig::from_toml(&text, &what).map_err(anyhow::Error::msg)?
            } else {
                TrainConfig::from_toml(&format!("algo = {what:?}\n"), "config show").map_err(
                    |_| {
                        anyhow::anyhow!(
                            "`{what}` is neither a config file nor an algorithm (dqn, c51, qr-dqn, iqn, sac, dsac)"
                        )
                    },
                )?
            };
            out!("{}", annotated(&config));
            Ok(())
        }
    }
}
