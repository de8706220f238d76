//! The quickstart: an experiment of the shipped QR-DQN and DSAC configs (built into the binary),
//! one seed, no cap, written into its output directory and run like any other experiment (so it
//! resumes, and `imbarb report` rebuilds it).

use anyhow::{Context, Result};
use imbarb_util::fs::write_atomic;
use std::path::{Path, PathBuf};

/// The quickstart's agents: name, shipped config and default environment steps. The lengths
/// were chosen on the validation days of the embedded Belgian prices (paper split, no cap, seed
/// 0), against the forecast MPC's 496.0 EUR/day there: QR-DQN at its config's 700k steps
/// deploys a network validated at 593.0 (300k: 504.2); DSAC at 400k ends at 522.2 (200k: 325.2;
/// 600k: 527.2, over the five-minute budget; experiments/quickstart-lengths/).
pub const QUICKSTART_AGENTS: [(&str, &str, usize); 2] = [
    (
        "qrdqn",
        include_str!("../../../configs/qrdqn.toml"),
        700_000,
    ),
    ("dsac", include_str!("../../../configs/dsac.toml"), 400_000),
];

/// Writes the quickstart experiment (and its agents' configs) into `out`; `data` replaces the
/// configs' data, `steps` every agent's steps. Returns the experiment file's path.
pub fn write_quickstart(out: &Path, data: &[String], steps: Option<usize>) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut file = String::from(
        "# Written by imbarb quickstart.\nname = \"quickstart\"\nseeds = [0]\ncaps = [\"none\"]\n\
         baselines = [\"rule\", \"schedule\", \"mpc\", \"oracle\"]\n",
    );
    let list: Vec<String> = data.iter().map(|d| format!("{d:?}")).collect();
    file.push_str(&format!("data = [{}]\n", list.join(", ")));
    for (name, config, default_steps) in QUICKSTART_AGENTS {
        let path = format!("quickstart-{name}.toml");
        write_atomic(&out.join(&path), config.as_bytes())?;
        file.push_str(&format!(
            "\n[[agents]]\nname = \"{name}\"\nconfig = \"{path}\"\nsteps = {}\n",
            steps.unwrap_or(default_steps)
        ));
    }
    let experiment = out.join("quickstart.toml");
    write_atomic(&experiment, file.as_bytes())?;
    Ok(experiment)
}
