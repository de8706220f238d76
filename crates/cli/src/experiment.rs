//! `imbarb experiment FILE`: a grid of training runs, agents x cycle caps x seeds (each agent
//! entry fixes its algorithm, action space, decision granularity and risk setting), run as
//! independent `imbarb train` jobs, `--jobs N` at a time, into one directory per experiment.
//! Finished runs return at once and interrupted ones resume, so the command can be re-run. Then
//! every finished run is backtested on the test days beside the baselines and the oracle in its
//! own action space, and the results are written as `results.csv` (one row per policy and seed),
//! `results.md` (mean and 95 % Student-t interval over seeds), `evaluation.json` (what the report
//! is drawn from) and `report.html`.

use crate::evaluate::{run_policy, DEFAULT_MPC_HORIZON};
use crate::setup::{build_setup, DaySet};
use anyhow::{bail, Context, Result};
use clap::Args;
use imbarb_agents::TrainConfig;
use imbarb_eval::{Backtest, Oracle};
use imbarb_market::write::write_atomic;
use imbarb_report::{DayTrace, Evaluation, GroupResult, PolicyResult, PriceSummary};
use imbarb_risk::RiskMeasure;
use imbarb_sim::EnvConfig;
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Run an experiment grid.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb experiment configs/experiments/smoke.toml --jobs 2
  imbarb experiment configs/experiments/quality.toml --jobs 2 --out runs/quality

The file lists the agents (each a training config, optionally with `steps` and a `risk`
override), the seeds, the cycle caps (\"none\" or cycles/day), the baselines and, optionally,
the data (default: each agent config's own). Results: <out>/results.csv and results.md; runs in
<out>/runs, their logs in <out>/logs.")]
pub struct ExperimentArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Training jobs at a time.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Experiment directory (default runs/experiments/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only evaluate the finished runs (train nothing).
    #[arg(long)]
    pub evaluate_only: bool,
    /// Only these agents of the file (names, comma-separated): train and report their runs
    /// alone, e.g. to finish one agent's rows of a long grid first.
    #[arg(long, value_delimiter = ',')]
    pub agents: Option<Vec<String>>,
}

/// Train, backtest and report in a few minutes.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb quickstart                      # embedded synthetic market, about 4 minutes on 2 cores
  imbarb quickstart --data ../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv

Trains QR-DQN and DSAC (configs/qrdqn.toml and configs/dsac.toml, built in, risk-neutral, with
short training), backtests them beside the rule, schedule and MPC baselines and the oracle on the
test days, prints the table and writes report.html.")]
pub struct QuickstartArgs {
    /// Data file(s) (default: the embedded synthetic market).
    #[arg(long, num_args = 1..)]
    pub data: Option<Vec<String>>,
    /// Training jobs at a time.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Output directory.
    #[arg(long, default_value = "runs/quickstart")]
    pub out: PathBuf,
    /// Environment steps per agent (default: QR-DQN 300k, DSAC 200k).
    #[arg(long)]
    pub steps: Option<usize>,
}

/// The quickstart's agents: the shipped configs, built into the binary.
const QUICKSTART_AGENTS: [(&str, &str, usize); 2] = [
    (
        "qrdqn",
        include_str!("../../../configs/qrdqn.toml"),
        300_000,
    ),
    ("dsac", include_str!("../../../configs/dsac.toml"), 200_000),
];

/// `imbarb quickstart`: an experiment of QR-DQN and DSAC (one seed, no cap) written into the
/// output directory and run like any other (so it resumes, and `imbarb report` rebuilds it).
pub fn quickstart(args: QuickstartArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut file = String::from(
        "# Written by imbarb quickstart.\nname = \"quickstart\"\nseeds = [0]\ncaps = [\"none\"]\n\
         baselines = [\"rule\", \"schedule\", \"mpc\", \"oracle\"]\n",
    );
    if let Some(data) = &args.data {
        let list: Vec<String> = data.iter().map(|d| format!("{d:?}")).collect();
        file.push_str(&format!("data = [{}]\n", list.join(", ")));
    }
    for (name, config, steps) in QUICKSTART_AGENTS {
        let path = format!("quickstart-{name}.toml");
        write_atomic(&args.out.join(&path), config.as_bytes())?;
        file.push_str(&format!(
            "\n[[agents]]\nname = \"{name}\"\nconfig = \"{path}\"\nsteps = {}\n",
            args.steps.unwrap_or(steps)
        ));
    }
    let experiment = args.out.join("quickstart.toml");
    write_atomic(&experiment, file.as_bytes())?;
    run(ExperimentArgs {
        file: experiment,
        jobs: args.jobs,
        out: Some(args.out),
        evaluate_only: false,
        agents: None,
    })
}

/// Rebuild an experiment's report.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  imbarb report runs/experiments/smoke      # writes runs/experiments/smoke/report.html")]
pub struct ReportArgs {
    /// The experiment directory (holding evaluation.json and runs/).
    pub dir: PathBuf,
}

/// `imbarb report DIR`: report.html again from evaluation.json and the runs (no backtests).
pub fn report(args: ReportArgs) -> Result<()> {
    let path = imbarb_report::write_report(&args.dir).map_err(anyhow::Error::msg)?;
    println!("report: {}", path.display());
    Ok(())
}

/// An experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    /// Directory name under runs/experiments (default: the file's stem).
    name: Option<String>,
    /// Data sources for every agent (default: each agent config's own).
    data: Option<Vec<String>>,
    /// Seeds of every agent and cap.
    seeds: Vec<u64>,
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
    agents: Vec<AgentEntry>,
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
struct AgentEntry {
    /// Its name in run directories and tables (letters, digits, `-`, `_`, `.`).
    name: String,
    /// Its training config (relative to the experiment file, else to the working directory).
    config: PathBuf,
    /// Override the config's environment steps.
    steps: Option<usize>,
    /// Override the config's risk measure (e.g. { kind = "mean-plus-var", alpha = 0.1, beta = 3.0 }).
    risk: Option<RiskMeasure>,
    /// Any other overrides, as a table merged into the config (e.g.
    /// { env = { granularity = "minute" }, training = { gamma = 0.9995 } }).
    set: Option<toml::Table>,
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
struct Job {
    agent: String,
    seed: u64,
    config: TrainConfig,
    config_path: PathBuf,
    run: PathBuf,
    log: PathBuf,
}

fn cap_label(cap: Option<f64>) -> String {
    cap.map_or("none".into(), |c| c.to_string())
}

impl ExperimentFile {
    /// Reads and checks `path`; errors name the file and the field.
    fn read(path: &Path) -> Result<ExperimentFile> {
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
        for b in &file.baselines {
            if !["rule", "schedule", "mpc", "idle", "oracle"].contains(&b.as_str()) {
                return Err(bad(format!(
                    "baselines: `{b}` is not one of rule, schedule, mpc, idle, oracle"
                )));
            }
        }
        file.caps(path)?;
        Ok(file)
    }

    /// The caps as cycles per day (`None`: no cap).
    fn caps(&self, path: &Path) -> Result<Vec<Option<f64>>> {
        self.caps
            .iter()
            .map(|c| match c {
                CapEntry::Cycles(x) if x.is_finite() && *x > 0.0 => Ok(Some(*x)),
                CapEntry::Word(w) if w == "none" => Ok(None),
                other => bail!(
                    "{}: caps: {other:?} is neither \"none\" nor a positive number of cycles per day",
                    path.display()
                ),
            })
            .collect()
    }

    /// Resolves every agent's config (relative to the experiment file, else to `root`) and lists
    /// the jobs, agents x caps x seeds, with run directories in `dir`.
    fn jobs(&self, path: &Path, root: &Path, dir: &Path) -> Result<Vec<Job>> {
        let mut jobs = vec![];
        for a in &self.agents {
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
            let overrides: Vec<&toml::Table> = self.set.iter().chain(&a.set).collect();
            let text = if overrides.is_empty() {
                text
            } else {
                let mut table: toml::Table =
                    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
                for over in overrides {
                    merge(&mut table, over);
                }
                table.to_string()
            };
            let base = TrainConfig::from_toml(&text, &origin)
                .map_err(|e| anyhow::anyhow!("{}: agent `{}`: {e}", path.display(), a.name))?;
            for cap in self.caps(path)? {
                let mut config = base.clone();
                if let Some(data) = &self.data {
                    config.data.sources = data.clone();
                }
                if let Some(steps) = a.steps {
                    config.training.total_steps = steps;
                }
                if let Some(risk) = a.risk {
                    config.risk = risk;
                }
                config.env.battery.cycles_per_day = cap;
                config.resolve_for_cap();
                config
                    .check()
                    .map_err(|e| anyhow::anyhow!("{}: agent `{}`: {e}", path.display(), a.name))?;
                let stem = format!("{}-cap{}", a.name, cap_label(cap));
                for &seed in &self.seeds {
                    let mut config = config.clone();
                    config.seed = seed;
                    jobs.push(Job {
                        agent: a.name.clone(),
                        seed,
                        config,
                        config_path: dir.join("configs").join(format!("{stem}.toml")),
                        run: dir.join("runs").join(format!("{stem}-seed{seed}")),
                        log: dir.join("logs").join(format!("{stem}-seed{seed}.log")),
                    });
                }
            }
        }
        Ok(jobs)
    }
}

/// Trains one job in a child `imbarb train` (its own process: a failing run cannot take the
/// others down), output appended to the job's log (a resumed run keeps its history). Returns
/// the last line it printed.
fn train_job(job: &Job) -> Result<String> {
    let exe = std::env::current_exe().context("locating the imbarb binary")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&job.log)
        .with_context(|| format!("opening {}", job.log.display()))?;
    let status = std::process::Command::new(exe)
        .arg("train")
        .arg("--config")
        .arg(&job.config_path)
        .arg("--seed")
        .arg(job.seed.to_string())
        .arg("--out")
        .arg(&job.run)
        .arg("--quiet")
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("starting imbarb train")?;
    let text = std::fs::read_to_string(&job.log).unwrap_or_default();
    let last = text.lines().last().unwrap_or("").to_string();
    if !status.success() {
        bail!("{last} (log: {})", job.log.display());
    }
    Ok(last)
}

/// Runs `jobs` on `workers` threads; returns the failures.
fn run_jobs(jobs: &[Job], workers: usize) -> Vec<(String, String)> {
    let queue: Mutex<VecDeque<&Job>> = Mutex::new(jobs.iter().collect());
    let failures = Mutex::new(vec![]);
    let done = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().map(|mut q| q.pop_front()).ok().flatten() else {
                    return;
                };
                let result = train_job(job);
                let n = done.lock().map(|mut d| {
                    *d += 1;
                    *d
                });
                let n = n.unwrap_or(0);
                let name = job
                    .run
                    .file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().to_string());
                match result {
                    Ok(line) => eprintln!("[{n}/{}] {name}: {line}", jobs.len()),
                    Err(e) => {
                        eprintln!("[{n}/{}] {name} FAILED: {e:#}", jobs.len());
                        if let Ok(mut f) = failures.lock() {
                            f.push((name, format!("{e:#}")));
                        }
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap_or_default()
}

/// What makes two runs comparable: data, split, battery (with its cap), granularity, actions and
/// what levels do at the limits.
fn group_key(c: &TrainConfig) -> String {
    serde_json::json!({
        "data": c.data.sources, "split": c.data.split, "minute_seed": c.data.minute_seed,
        "battery": c.env.battery, "granularity": c.env.granularity, "actions": c.env.actions,
        "levels_at_limits": c.env.levels_at_limits,
    })
    .to_string()
}

/// A readable label of a group.
fn group_label(c: &TrainConfig) -> String {
    let actions = match c.env.actions {
        imbarb_sim::ActionSpace::Continuous => "continuous".to_string(),
        imbarb_sim::ActionSpace::Discrete { levels } => match c.env.levels_at_limits {
            imbarb_sim::LevelLimits::Whole => format!("{levels} levels"),
            imbarb_sim::LevelLimits::Clip => format!("{levels} levels, clipped at the limits"),
        },
    };
    format!(
        "cap {} / {:?} decisions / {actions}",
        cap_label(c.env.battery.cycles_per_day),
        c.env.granularity
    )
}

/// Backtests the finished runs of `jobs` and the baselines on the test days, group by group,
/// with the traces of the best agent's best, median and worst days.
fn evaluate(name: &str, jobs: &[Job], baselines: &[String]) -> Result<Evaluation> {
    let mut groups: BTreeMap<String, Vec<&Job>> = BTreeMap::new();
    for j in jobs {
        groups.entry(group_key(&j.config)).or_default().push(j);
    }
    let mut evaluation = Evaluation {
        name: name.to_string(),
        code_version: imbarb_agents::trainer::CODE_VERSION.to_string(),
        groups: vec![],
        notes: vec![],
    };
    for members in groups.values() {
        let c = &members[0].config;
        let env = EnvConfig {
            battery: c.env.battery,
            granularity: c.env.granularity,
            actions: c.env.actions,
            levels_at_limits: c.env.levels_at_limits,
            ..EnvConfig::default()
        };
        let s = build_setup(
            &c.data.sources,
            &c.data.split,
            env,
            c.data.minute_seed,
            DaySet::Test,
        )?;
        let oracle = Oracle::solve(&s.days, &s.eval, &s.config).map_err(anyhow::Error::msg)?;
        let mut results: Vec<(PolicyResult, Backtest)> = vec![];
        let mut run_one = |name: &str,
                           kind: &str,
                           seed: Option<u64>,
                           run: Option<&Path>,
                           spec: &str|
         -> Result<()> {
            let (bt, metrics) = run_policy(spec, &s, &oracle, DEFAULT_MPC_HORIZON)?;
            results.push((
                PolicyResult {
                    name: name.to_string(),
                    kind: kind.to_string(),
                    seed,
                    run: run.map(|p| p.display().to_string()),
                    metrics,
                    daily_eur: bt.days.iter().map(|d| d.profit_eur).collect(),
                },
                bt,
            ));
            Ok(())
        };
        for b in baselines {
            run_one(b, "baseline", None, None, b)?;
        }
        for j in members {
            let finished = imbarb_agents::trainer::read_manifest(&j.run)
                .map(|m| m.status == "finished")
                .unwrap_or(false);
            if !finished {
                evaluation
                    .notes
                    .push(format!("{}: not finished, left out", j.run.display()));
                continue;
            }
            let spec = format!("run:{}", j.run.display());
            run_one(&j.agent, "agent", Some(j.seed), Some(&j.run), &spec)?;
        }
        let prices: Vec<f64> = results.first().map_or(vec![], |(_, bt)| {
            bt.ledger.iter().map(|r| r.price_long_eur_per_mwh).collect()
        });
        evaluation.groups.push(GroupResult {
            label: group_label(c),
            setup: s.describe().replace('\n', "; "),
            dates: s.eval.iter().map(|&d| s.days.days[d].date).collect(),
            prices: PriceSummary::of(&prices),
            oracle_eur_per_day: oracle.total_eur() / s.eval.len().max(1) as f64,
            traces: representative_days(&results),
            policies: results.into_iter().map(|(p, _)| p).collect(),
        });
    }
    Ok(evaluation)
}

/// The best, median and worst test days of the best agent (highest mean EUR/day over its seeds;
/// its first seed acts), or of the best baseline when no agent ran.
fn representative_days(results: &[(PolicyResult, Backtest)]) -> Vec<DayTrace> {
    let mean_of = |name: &str| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(p, _)| p.name == name)
            .map(|(p, _)| p.metrics.eur_per_day)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let pick = |kind: &str| {
        results
            .iter()
            .filter(|(p, _)| p.kind == kind && p.name != "oracle")
            .max_by(|a, b| mean_of(&a.0.name).total_cmp(&mean_of(&b.0.name)))
            .map(|(p, _)| p.name.clone())
    };
    let Some(best) = pick("agent").or_else(|| pick("baseline")) else {
        return vec![];
    };
    let Some((_, bt)) = results.iter().find(|(p, _)| p.name == best) else {
        return vec![];
    };
    let mut days: Vec<&imbarb_eval::DayPnl> = bt.days.iter().collect();
    days.sort_by(|a, b| b.profit_eur.total_cmp(&a.profit_eur));
    if days.is_empty() {
        return vec![];
    }
    [
        ("best", 0),
        ("median", days.len() / 2),
        ("worst", days.len() - 1),
    ]
    .into_iter()
    .map(|(why, i)| {
        let date = days[i].date;
        let rows: Vec<_> = bt.ledger.iter().filter(|r| r.date == date).collect();
        DayTrace {
            date,
            why: why.into(),
            policy: best.clone(),
            price: rows.iter().map(|r| r.price_long_eur_per_mwh).collect(),
            power_mw: rows.iter().map(|r| r.power_mw).collect(),
            soc_mwh: rows.iter().map(|r| r.soc_mwh).collect(),
        }
    })
    .collect()
}

/// results.csv: one row per evaluated policy (agents per seed).
fn results_csv(e: &Evaluation) -> Result<String> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "group",
        "policy",
        "kind",
        "seed",
        "eur_per_day",
        "pct_of_perfect",
        "cycles_per_day",
        "daily_std_eur",
        "var_10_eur",
        "cvar_10_eur",
        "losing_day_share",
        "max_drawdown_eur",
        "run",
    ])?;
    for g in &e.groups {
        for p in &g.policies {
            let m = &p.metrics;
            w.write_record([
                g.label.clone(),
                p.name.clone(),
                p.kind.clone(),
                p.seed.map_or(String::new(), |s| s.to_string()),
                format!("{:.3}", m.eur_per_day),
                m.pct_of_perfect
                    .map_or(String::new(), |p| format!("{p:.3}")),
                format!("{:.4}", m.cycles_per_day),
                format!("{:.3}", m.daily_std_eur),
                format!("{:.3}", m.var_10_eur),
                format!("{:.3}", m.cvar_10_eur),
                format!("{:.4}", m.losing_day_share),
                format!("{:.3}", m.max_drawdown_eur),
                p.run.clone().unwrap_or_default(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// results.md: per group, baselines and then each agent's mean over seeds with a 95 % interval.
fn results_md(e: &Evaluation) -> String {
    let mut out = format!("# Experiment `{}`: test days\n\n", e.name);
    for g in &e.groups {
        let best_baseline = g.best_baseline();
        out.push_str(&format!(
            "## {}\n\n{}\n\n| policy | seeds | EUR/day (mean, 95 % CI) | % of perfect foresight | cycles/day | std/day | VaR 10 % | CVaR 10 % | vs best baseline |\n|---|---|---|---|---|---|---|---|---|\n",
            g.label, g.setup
        ));
        for p in g.summaries() {
            let Some(eur) = p.eur_per_day else {
                continue;
            };
            let vs = match best_baseline {
                Some((b, best)) if best > 0.0 => format!("{:.2}x ({b})", eur.mean / best),
                _ => "-".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {vs} |\n",
                p.name,
                p.seeds,
                eur.display(1),
                p.pct_of_perfect,
                p.cycles_per_day,
                p.daily_std_eur,
                p.var_10_eur,
                p.cvar_10_eur,
            ));
        }
        out.push('\n');
    }
    out.push_str("VaR and CVaR are of daily P&L (EUR); intervals are Student-t over seeds.\n");
    for n in &e.notes {
        out.push_str(&format!("\n- {n}"));
    }
    out.push('\n');
    out
}

/// The training-speed section of `results.md`: per agent, mean wall minutes, environment steps
/// and updates per second over its runs. Kept out of the printed table, which is the same on
/// every machine for the same seeds, while speeds are not.
fn training_speed_md(runs: &[imbarb_report::RunInfo]) -> String {
    let speeds = imbarb_report::throughput_by_agent(runs);
    if speeds.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Training speed\n\nMean over each agent's runs in this grid (a resumed run's sessions summed, up to its last validation); runs sharing the cores train slower.\n\n| agent | runs | minutes | env steps/s | updates/s |\n|---|---|---|---|---|\n",
    );
    for (agent, n, t) in speeds {
        out.push_str(&format!(
            "| {agent} | {n} | {:.1} | {:.0} | {:.0} |\n",
            t.wall_s / 60.0,
            t.env_steps_per_s,
            t.updates_per_s
        ));
    }
    out
}

/// The jobs of the agents `--agents` names (all without it); a name the file lacks is an error
/// listing the file's agents.
fn select_agents(jobs: Vec<Job>, args: &ExperimentArgs) -> Result<Vec<Job>> {
    let Some(names) = &args.agents else {
        return Ok(jobs);
    };
    let known: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.agent.as_str()).collect();
    if let Some(missing) = names.iter().find(|n| !known.contains(n.as_str())) {
        bail!(
            "--agents: {} has no agent named {missing:?} (it has: {})",
            args.file.display(),
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(jobs
        .into_iter()
        .filter(|j| names.contains(&j.agent))
        .collect())
}

pub fn run(args: ExperimentArgs) -> Result<()> {
    let file = ExperimentFile::read(&args.file)?;
    let name = file.name.clone().unwrap_or_else(|| {
        args.file
            .file_stem()
            .map_or("experiment".into(), |s| s.to_string_lossy().to_string())
    });
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/experiments").join(&name));
    let jobs = select_agents(file.jobs(&args.file, Path::new(""), &dir)?, &args)?;
    for sub in ["configs", "runs", "logs"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let text = std::fs::read_to_string(&args.file)?;
    write_atomic(&dir.join("experiment.toml"), text.as_bytes())?;
    // One config per agent and cap (the seed comes from `--seed`).
    let mut written = std::collections::BTreeSet::new();
    for j in &jobs {
        if written.insert(j.config_path.clone()) {
            write_atomic(&j.config_path, j.config.to_toml().as_bytes())?;
        }
    }
    let failures = if args.evaluate_only {
        vec![]
    } else {
        eprintln!(
            "experiment {name}: {} runs, {} at a time -> {}",
            jobs.len(),
            args.jobs.max(1),
            dir.display()
        );
        run_jobs(&jobs, args.jobs.max(1))
    };
    let evaluation = evaluate(&name, &jobs, &file.baselines)?;
    write_atomic(
        &dir.join("results.csv"),
        results_csv(&evaluation)?.as_bytes(),
    )?;
    let md = results_md(&evaluation);
    let runs = imbarb_report::load_runs_of(&dir, &evaluation).map_err(anyhow::Error::msg)?;
    let file_md = format!("{md}{}", training_speed_md(&runs));
    write_atomic(&dir.join("results.md"), file_md.as_bytes())?;
    write_atomic(
        &dir.join("evaluation.json"),
        serde_json::to_string(&evaluation)?.as_bytes(),
    )?;
    let report =
        imbarb_report::write_report_of(&dir, &evaluation, &runs).map_err(anyhow::Error::msg)?;
    print!("{md}");
    println!(
        "results: {}, {} and {}",
        dir.join("results.csv").display(),
        dir.join("results.md").display(),
        report.display()
    );
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(n, e)| format!("{n}: {e}")).collect();
        bail!(
            "{} of {} runs failed:\n{}",
            failures.len(),
            jobs.len(),
            list.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("exp.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn bad_experiment_files_are_named_with_their_field() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            ("seeds = []\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n", "seeds"),
            ("seeds = [0]\n", "agents"),
            (
                "seeds = [0]\ncaps = [\"never\"]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n",
                "caps",
            ),
            (
                "seeds = [0]\nbaselines = [\"magic\"]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n",
                "baselines",
            ),
            (
                "seeds = [0]\n[[agents]]\nname = \"a/b\"\nconfig = \"x.toml\"\n",
                "agents.name",
            ),
            (
                "seeds = [0]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n[[agents]]\nname = \"a\"\nconfig = \"y.toml\"\n",
                "twice",
            ),
            ("seeds = [0]\nsurprise = 1\n", "surprise"),
        ];
        for (text, field) in cases {
            let p = write(d.path(), text);
            let err = ExperimentFile::read(&p).unwrap_err().to_string();
            assert!(
                err.contains("exp.toml") && err.contains(field),
                "{field}: {err}"
            );
        }
        // A misspelt override names the agent and the key.
        std::fs::write(d.path().join("q.toml"), "algo = \"qr-dqn\"\n").unwrap();
        let p = write(
            d.path(),
            "seeds = [0]\n[[agents]]\nname = \"typo\"\nconfig = \"q.toml\"\nset = { training = { gama = 0.9 } }\n",
        );
        let f = ExperimentFile::read(&p).unwrap();
        let err = f.jobs(&p, d.path(), d.path()).unwrap_err().to_string();
        assert!(err.contains("typo") && err.contains("gama"), "{err}");
        // A missing agent config is named with the agent.
        let p = write(
            d.path(),
            "seeds = [0]\n[[agents]]\nname = \"ghost\"\nconfig = \"nowhere.toml\"\n",
        );
        let f = ExperimentFile::read(&p).unwrap();
        let err = f.jobs(&p, d.path(), d.path()).unwrap_err().to_string();
        assert!(
            err.contains("ghost") && err.contains("nowhere.toml"),
            "{err}"
        );
    }

    /// Every shipped experiment reads, and its agents' configs resolve and pass their checks.
    #[test]
    fn every_shipped_experiment_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = root.join("configs/experiments");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("configs/experiments") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let f = ExperimentFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
                // Agent configs are named from the repository root.
                let jobs = f
                    .jobs(&path, &root, Path::new("out"))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    jobs.len(),
                    f.agents.len() * f.seeds.len() * f.caps.len(),
                    "{}",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 3, "the smoke, quality and risk experiments");
    }

    #[test]
    fn the_grid_is_agents_by_caps_by_seeds_with_overrides() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("q.toml"), "algo = \"qr-dqn\"\n").unwrap();
        let p = write(
            d.path(),
            "seeds = [3, 4]\ncaps = [\"none\", 1.1]\ndata = [\"synthetic:2023-01-01..2023-01-31\"]\n\
             set = { training = { gamma = 0.98, n_step = 7 } }\n\
             [[agents]]\nname = \"q\"\nconfig = \"q.toml\"\nsteps = 1234\n\
             [[agents]]\nname = \"q-averse\"\nconfig = \"q.toml\"\n\
             risk = { kind = \"cvar\", alpha = 0.1 }\n\
             set = { env = { granularity = \"minute\" }, training = { gamma = 0.9995 } }\n",
        );
        let f = ExperimentFile::read(&p).unwrap();
        let jobs = f
            .jobs(&p, Path::new("/nonexistent"), Path::new("out"))
            .unwrap();
        assert_eq!(jobs.len(), 2 * 2 * 2);
        let names: Vec<String> = jobs
            .iter()
            .map(|j| j.run.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names[0], "q-capnone-seed3");
        assert_eq!(names[3], "q-cap1.1-seed4");
        assert_eq!(names[7], "q-averse-cap1.1-seed4");
        assert_eq!(jobs[0].config.training.total_steps, 1234);
        assert_eq!(jobs[3].config.env.battery.cycles_per_day, Some(1.1));
        assert_eq!(jobs[3].seed, 4);
        assert_eq!(jobs[4].config.risk, RiskMeasure::Cvar { alpha: 0.1 });
        // `set` reaches nested fields and leaves the rest of the table alone.
        assert_eq!(
            jobs[4].config.env.granularity,
            imbarb_sim::Granularity::Minute
        );
        assert_eq!(jobs[4].config.training.gamma, 0.9995);
        // The file's `set` reaches every agent; an agent's own `set` wins where both name a key.
        assert_eq!(jobs[0].config.training.gamma, 0.98);
        assert!(jobs.iter().all(|j| j.config.training.n_step == 7));
        assert_eq!(jobs[0].config.env.granularity, imbarb_sim::Granularity::Qh);
        assert_eq!(
            jobs[4].config.env.actions,
            imbarb_sim::ActionSpace::Discrete { levels: 3 }
        );
        assert_eq!(
            jobs[4].config.data.sources,
            vec!["synthetic:2023-01-01..2023-01-31".to_string()]
        );
        assert_eq!(
            jobs[4].config_path,
            Path::new("out/configs/q-averse-capnone.toml")
        );
    }

    #[test]
    fn capped_jobs_learn_with_the_capped_return_length() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("q.toml"),
            "algo = \"qr-dqn\"\n[training]\nn_step = 3\nn_step_with_cap = 10\n",
        )
        .unwrap();
        let p = write(
            d.path(),
            "seeds = [0]\ncaps = [\"none\", 1.1]\n[[agents]]\nname = \"q\"\nconfig = \"q.toml\"\n",
        );
        let f = ExperimentFile::read(&p).unwrap();
        let jobs = f
            .jobs(&p, Path::new("/nonexistent"), Path::new("out"))
            .unwrap();
        let n: Vec<(Option<f64>, usize, Option<usize>)> = jobs
            .iter()
            .map(|j| {
                let t = &j.config.training;
                (
                    j.config.env.battery.cycles_per_day,
                    t.n_step,
                    t.n_step_with_cap,
                )
            })
            .collect();
        assert_eq!(n, vec![(None, 3, None), (Some(1.1), 10, None)]);
    }
}
