//! Experiment files and their grid: agents x cycle caps x seeds, each cell a training job with a
//! resolved config, a run directory and a log. Errors name the file, the agent and the field.

use crate::policy::PolicySpec;
use anyhow::{bail, Context, Result};
use imbarb_agents::TrainConfig;
use imbarb_risk::RiskMeasure;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// An experiment file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Directory name under runs/experiments (default: the file's stem).
    pub name: Option<String>,
    /// Data sources for every agent (default: each agent config's own).
    pub data: Option<Vec<String>>,
    /// Seeds of every agent and cap.
    pub seeds: Vec<u64>,
    /// Daily cycle caps: "none" or full equivalent cycles per day.
    #[serde(default = "no_cap")]
    caps: Vec<CapEntry>,
    /// Baseline policies evaluated beside the agents (rule, schedule, mpc, idle, oracle).
    #[serde(default = "default_baselines")]
    baselines: Vec<String>,
    /// Overrides merged into every agent's config before the agent's own `set`, e.g. to pin the
    /// settings a file's numbers were measured with once rather than in each agent.
    set: Option<toml::Table>,
    /// The agents.
    pub agents: Vec<AgentEntry>,
}

/// A cap as written: a number of cycles per day or "none".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum CapEntry {
    Cycles(f64),
    Word(String),
}

fn no_cap() -> Vec<CapEntry> {
    vec![CapEntry::Word("none".into())]
}

fn default_baselines() -> Vec<String> {
    ["rule", "schedule", "mpc", "oracle"]
        .map(String::from)
        .to_vec()
}

/// One agent of the grid.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    /// Its name in run directories and tables (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Its training config (relative to the experiment file, else to the working directory).
    pub config: PathBuf,
    /// Override the config's environment steps.
    pub steps: Option<usize>,
    /// Override the config's risk measure (e.g. { kind = "mean-plus-var", alpha = 0.1, beta = 3.0 }).
    pub risk: Option<RiskMeasure>,
    /// Any other overrides, as a table merged into the config (e.g.
    /// { env = { granularity = "minute" }, training = { gamma = 0.9995 } }).
    pub set: Option<toml::Table>,
}

/// Merges `over` into `base`: tables key by key (recursively), anything else replaced.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// One training job: an agent at a cap and seed, with its resolved config.
#[derive(Debug, Clone)]
pub struct Job {
    /// The agent's name.
    pub agent: String,
    /// The seed.
    pub seed: u64,
    /// The resolved config (file, file-wide and agent overrides, cap, seed).
    pub config: TrainConfig,
    /// Where the resolved config is written (one per agent and cap).
    pub config_path: PathBuf,
    /// The run directory.
    pub run: PathBuf,
    /// The training log.
    pub log: PathBuf,
    /// A run that must finish first (the month before, for a warm-started walk-forward month).
    pub depends_on: Option<PathBuf>,
    /// The walk-forward protocol this job is one month of (`data.split` as written, e.g.
    /// `walk-forward-monthly:2024-07..2024-12:14`); `None` for a single-window split.
    pub protocol: Option<String>,
    /// The test month of a walk-forward job, `YYYY-MM`.
    pub month: Option<String>,
    /// Where fitted forecasters are shared between the grid's runs (`forecast_features`).
    pub forecaster_cache: PathBuf,
}

impl Job {
    /// The run directory's name, e.g. `qrdqn-capnone-seed0`.
    pub fn name(&self) -> String {
        self.run
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().to_string())
    }
}

/// A cap as it appears in run names and group labels: `none` or the number of cycles per day.
pub fn cap_label(cap: Option<f64>) -> String {
    cap.map_or("none".into(), |c| c.to_string())
}

impl ExperimentFile {
    /// Reads and checks `path`; errors name the file and the field.
    pub fn read(path: &Path) -> Result<ExperimentFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: ExperimentFile =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let bad = |what: String| anyhow::anyhow!("{}: {what}", path.display());
        if file.seeds.is_empty() {
            return Err(bad("seeds: list at least one seed".into()));
        }
        if file.agents.is_empty() {
            return Err(bad("agents: list at least one [[agents]] entry".into()));
        }
        let mut names = std::collections::BTreeSet::new();
        for a in &file.agents {
            let ok = !a.name.is_empty()
                && a.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                return Err(bad(format!(
                    "agents.name `{}`: use letters, digits, `-`, `_` and `.`",
                    a.name
                )));
            }
            if !names.insert(a.name.clone()) {
                return Err(bad(format!("agents.name `{}` appears twice", a.name)));
            }
        }
        file.baselines()
            .map_err(|e| bad(format!("baselines: {e}")))?;
        file.caps(path)?;
        Ok(file)
    }

    /// The name of the experiment: the file's `name`, else the stem of `path`.
    pub fn name_for(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map_or("experiment".into(), |s| s.to_string_lossy().to_string())
        })
    }

    /// The baselines as policies (`run:` and `run-plan:` are not baselines).
    pub fn baselines(&self) -> Result<Vec<PolicySpec>, String> {
        self.baselines
            .iter()
            .map(|b| match b.parse::<PolicySpec>() {
                Ok(PolicySpec::Run(_) | PolicySpec::RunPlan(_)) | Err(_) => Err(format!(
                    "`{b}` is not a baseline: rule, schedule, mpc, mpc-rolling[:DAYS], smpc[:SEED], smpc-trees[:SEED], plan, plan-trees, plan-mpc-rolling[:DAYS], plan-mpc-rolling-terminal[:DAYS], idle or oracle"
                )),
                Ok(spec) => Ok(spec),
            })
            .collect()
    }

    /// The caps as cycles per day (`None`: no cap).
    pub fn caps(&self, path: &Path) -> Result<Vec<Option<f64>>> {
        self.caps
            .iter()
            .map(|c| match c {
                CapEntry::Cycles(x) if x.is_finite() && *x > 0.0 => Ok(Some(*x)),
                CapEntry::Word(w) if w == "none" => Ok(None),
                CapEntry::Cycles(x) => bail!(
                    "{}: caps: {x} is neither \"none\" nor a positive number of cycles per day",
                    path.display()
                ),
                CapEntry::Word(w) => bail!(
                    "{}: caps: \"{w}\" is neither \"none\" nor a positive number of cycles per day",
                    path.display()
                ),
            })
            .collect()
    }

    /// The agent's config text with the file-wide and the agent's own overrides merged in.
    fn agent_config(&self, a: &AgentEntry, path: &Path, root: &Path) -> Result<TrainConfig> {
        let config_path = [
            path.with_file_name("").join(&a.config),
            root.join(&a.config),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{}: agent `{}`: config {} not found",
                path.display(),
                a.name,
                a.config.display()
            )
        })?;
        let text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let origin = config_path.display().to_string();
        // The config file alone first, so its own errors name its own lines.
        let mut config: TrainConfig =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let overrides: Vec<&toml::Table> = self.set.iter().chain(&a.set).collect();
        if !overrides.is_empty() {
            let mut table: toml::Table =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
            for over in overrides {
                merge(&mut table, over);
            }
            // A line of the merged text would point into neither file: name the `set` instead.
            config = table.try_into().map_err(|e: toml::de::Error| {
                anyhow::anyhow!(
                    "{}: agent `{}`: `set`: {}",
                    path.display(),
                    a.name,
                    e.message().trim_end()
                )
            })?;
        }
        config
            .check()
            .map_err(|e| anyhow::anyhow!("{}: agent `{}`: {e}", path.display(), a.name))?;
        Ok(config)
    }

    /// Each agent's config with everything the file says of it folded in (file-wide and agent
    /// `set`, `steps`, `risk`), before the grid applies its data, caps and seeds.
    fn agent_base(&self, a: &AgentEntry, path: &Path, root: &Path) -> Result<TrainConfig> {
        let mut config = self.agent_config(a, path, root)?;
        if let Some(steps) = a.steps {
            config.training.total_steps = steps;
        }
        if let Some(risk) = a.risk {
            config.risk = risk;
        }
        Ok(config)
    }

    /// Writes a frozen record of this experiment (read from `path`, agent configs resolved
    /// relative to it, else to `root`) into `dir`: `experiment.toml`, whose agents name
    /// `configs/<agent>.toml`, and those configs with every override folded in and every field
    /// written. The record resolves to the same jobs as the original and no later change to the
    /// configs it came from can change it. Returns the record's experiment file.
    pub fn freeze(&self, path: &Path, root: &Path, dir: &Path) -> Result<PathBuf> {
        let configs = dir.join("configs");
        std::fs::create_dir_all(&configs)
            .with_context(|| format!("creating {}", configs.display()))?;
        let quote = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", items.join(", "))
        };
        let mut text = format!(
            "# A frozen experiment record, written by `imbarb experiment {} --freeze`: every\n\
             # agent's config is in configs/, complete. Re-run with `imbarb experiment` on this file.\n\
             name = {:?}\n",
            path.display(),
            self.name_for(path)
        );
        if let Some(data) = &self.data {
            text.push_str(&format!("data = {}\n", quote(data)));
        }
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        let caps: Vec<String> = self
            .caps(path)?
            .iter()
            .map(|c| c.map_or("\"none\"".to_string(), |c| format!("{c:?}")))
            .collect();
        text.push_str(&format!(
            "seeds = [{}]\ncaps = [{}]\nbaselines = {}\n",
            seeds.join(", "),
            caps.join(", "),
            quote(&self.baselines)
        ));
        for a in &self.agents {
            let config = self.agent_base(a, path, root)?;
            let file = format!("configs/{}.toml", a.name);
            imbarb_util::fs::write_atomic(&dir.join(&file), config.to_toml().as_bytes())?;
            text.push_str(&format!(
                "\n[[agents]]\nname = {:?}\nconfig = {file:?}\n",
                a.name
            ));
        }
        let out = dir.join("experiment.toml");
        imbarb_util::fs::write_atomic(&out, text.as_bytes())?;
        Ok(out)
    }

    /// Resolves every agent's config (relative to the experiment file, else to `root`) and lists
    /// the jobs, agents x caps x seeds, with run directories in `dir`.
    pub fn jobs(&self, path: &Path, root: &Path, dir: &Path) -> Result<Vec<Job>> {
        let mut jobs = vec![];
        for a in &self.agents {
            let base = self.agent_base(a, path, root)?;
            for cap in self.caps(path)? {
                let mut config = base.clone();
                if let Some(data) = &self.data {
                    config.data.sources = data.clone();
                }
                config.env.battery.cycles_per_day = cap;
                config.resolve_for_cap();
                config
                    .check()
                    .map_err(|e| anyhow::anyhow!("{}: agent `{}`: {e}", path.display(), a.name))?;
                let stem = format!("{}-cap{}", a.name, cap_label(cap));
                let windows = imbarb_market::SplitSpec::parse(&config.data.split)
                    .ok()
                    .and_then(|s| s.month_windows());
                for &seed in &self.seeds {
                    let mut config = config.clone();
                    config.seed = seed;
                    let Some(windows) = &windows else {
                        jobs.push(Job {
                            agent: a.name.clone(),
                            seed,
                            config,
                            config_path: dir.join("configs").join(format!("{stem}.toml")),
                            run: dir.join("runs").join(format!("{stem}-seed{seed}")),
                            log: dir.join("logs").join(format!("{stem}-seed{seed}.log")),
                            depends_on: None,
                            protocol: None,
                            month: None,
                            forecaster_cache: dir.join(FORECASTER_CACHE),
                        });
                        continue;
                    };
                    let months =
                        month_jobs(&a.name, &stem, &config, windows, dir).map_err(|e| {
                            anyhow::anyhow!("{}: agent `{}`: {e}", path.display(), a.name)
                        })?;
                    jobs.extend(months);
                }
            }
        }
        Ok(jobs)
    }
}

/// The experiment directory's folder of forecasters shared by its runs.
pub const FORECASTER_CACHE: &str = "forecasters";

/// One job per walk-forward month of an agent at a cap and seed: each month trains on the
/// days before it; with `training.warm_start_steps` > 0 every month after the first starts from
/// the month before's run and trains that many steps at `epsilon_end` (so it waits for it).
fn month_jobs(
    agent: &str,
    stem: &str,
    config: &TrainConfig,
    windows: &[imbarb_market::MonthWindow],
    dir: &Path,
) -> Result<Vec<Job>, String> {
    let seed = config.seed;
    let mut jobs: Vec<Job> = vec![];
    for w in windows {
        let mut c = config.clone();
        c.data.split = w.split.to_string();
        let previous = jobs.last().map(|j| j.run.clone());
        let warm = previous.filter(|_| c.training.warm_start_steps > 0);
        if let Some(from) = &warm {
            c.training.warm_start = Some(from.display().to_string());
            c.training.total_steps = c.training.warm_start_steps;
            c.training.epsilon_start = c.training.epsilon_end;
            c.check().map_err(|e| {
                format!(
                    "month {} (warm start, training.warm_start_steps): {e}",
                    w.month
                )
            })?;
        }
        let name = format!("{stem}-seed{seed}-{}", w.month);
        jobs.push(Job {
            agent: agent.to_string(),
            seed,
            config: c,
            config_path: dir.join("configs").join(format!("{name}.toml")),
            run: dir.join("runs").join(&name),
            log: dir.join("logs").join(format!("{name}.log")),
            depends_on: warm,
            protocol: Some(config.data.split.clone()),
            month: Some(w.month.clone()),
            forecaster_cache: dir.join(FORECASTER_CACHE),
        });
    }
    Ok(jobs)
}

/// The jobs of the agents `names` (all with `None`); a name the grid lacks is an error listing
/// the grid's agents.
pub fn select_agents(jobs: Vec<Job>, names: Option<&[String]>, file: &Path) -> Result<Vec<Job>> {
    let Some(names) = names else {
        return Ok(jobs);
    };
    let known: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.agent.as_str()).collect();
    if let Some(missing) = names.iter().find(|n| !known.contains(n.as_str())) {
        bail!(
            "--agents: {} has no agent named {missing:?} (it has: {})",
            file.display(),
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(jobs
        .into_iter()
        .filter(|j| names.contains(&j.agent))
        .collect())
}
