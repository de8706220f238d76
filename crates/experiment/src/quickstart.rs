//! The quickstart: an experiment of the shipped QR-DQN and DSAC configs (built into the binary),
//! one seed, no cap, written into its output directory and run like any other experiment (so it
//! resumes, and `imbarb report` rebuilds it).

use anyhow::{Context, Result};
use imbarb_util::fs::write_atomic;
use std::path::{Path, PathBuf};

/// The quickstart's agents: name, shipped config and default environment steps. The lengths
/// were chosen on the validation days of the embedded Belgian prices (paper split, no cap, seed
/// 0), against the forecast MPC's 496.0 EUR/day there: QR-DQN at its config's 700k steps
/// deploys a network validated at 593.6 (593.0 from He's initialisation; 300k: 504.2); DSAC at
/// 400k ends at 522.2 (200k: 325.2; 600k: 527.2, over the five-minute budget;
/// experiments/quickstart-lengths/).
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
        let n = steps.unwrap_or(default_steps);
        file.push_str(&format!(
            "\n[[agents]]\nname = \"{name}\"\nconfig = \"{path}\"\nsteps = {n}\n"
        ));
        let parsed =
            imbarb_agents::TrainConfig::from_toml(config, &path).map_err(anyhow::Error::msg)?;
        if let Some(starts) = earlier_start(&parsed, n) {
            file.push_str(&format!(
                "set = {{ training = {{ learning_starts = {starts} }} }}\n"
            ));
        }
    }
    let experiment = out.join("quickstart.toml");
    write_atomic(&experiment, file.as_bytes())?;
    Ok(experiment)
}

/// A shorter quickstart (`--steps`) than the config's `learning_starts` allows would never update
/// its networks: it starts learning after a quarter of its steps instead (at least one batch).
/// `None` when the config's own start fits.
fn earlier_start(config: &imbarb_agents::TrainConfig, steps: usize) -> Option<usize> {
    let t = &config.training;
    (t.learning_starts.max(t.batch_size) > steps.min(t.replay_capacity))
        .then(|| (steps / 4).max(t.batch_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every quickstart length writes configs that update their networks; the shipped lengths
    /// keep the configs' own start.
    #[test]
    fn any_length_trains_and_the_shipped_lengths_are_untouched() {
        let d = tempfile::tempdir().expect("tempdir");
        for steps in [None, Some(300), Some(3_000), Some(50_000)] {
            let file = write_quickstart(d.path(), &["synthetic".into()], steps).expect("written");
            let exp = crate::grid::ExperimentFile::read(&file).expect("read");
            let jobs = exp
                .jobs(&file, d.path(), &d.path().join("out"))
                .expect("jobs");
            for j in &jobs {
                j.config.check().expect("a config that trains");
                let t = &j.config.training;
                if steps.is_none() {
                    assert_eq!(t.learning_starts, 10_000);
                } else {
                    assert!(
                        t.learning_starts.max(t.batch_size) <= t.total_steps,
                        "{steps:?}"
                    );
                }
            }
        }
    }
}
