//! `imbarb retrain`, `imbarb promote`, `imbarb rollback`: a challenger trained from the deployed
//! run on data up to a date and compared with it and the baselines on the most recent days; an
//! atomic swap of the run link the service decides with, refused when the challenger does not
//! win; and the way back.

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, Utc};
use clap::Args;
use imbarb_agents::config::Deploy;
use imbarb_agents::{train, TrainOptions};
use imbarb_eval::Oracle;
use imbarb_experiment::{run_policy, training_setup, PolicySpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `retrain` writes beside the candidate (`candidate.json`): the evidence `promote` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateReport {
    /// The run the candidate was trained from (its directory and manifest SHA-256).
    pub champion: (String, String),
    /// The candidate (its directory and manifest SHA-256).
    pub candidate: (String, String),
    /// The last day of data it trained and validated on.
    pub until: NaiveDate,
    /// The recent days compared on (never used to train or choose the candidate).
    pub days: Vec<NaiveDate>,
    /// The days before them that chose the candidate among its planner and networks
    /// (`--selection-days`; none when it deploys its final network).
    #[serde(default)]
    pub selection_days: Vec<NaiveDate>,
    /// What the candidate deploys: its final network, a network chosen on the selection days
    /// (with its step), or its planner alone.
    #[serde(default)]
    pub deployed: String,
    /// EUR/day on those days: candidate, champion, rule, mpc, mpc-rolling.
    pub eur_per_day: Vec<(String, f64)>,
    /// The perfect-foresight optimum on those days, EUR/day.
    pub optimum_eur_per_day: f64,
}

impl CandidateReport {
    fn eur(&self, name: &str) -> Option<f64> {
        self.eur_per_day
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Train a challenger from a deployed run on data up to a date, and compare.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb retrain --run deploy/current --data history.csv --until 2024-09-30
  imbarb retrain --run runs/qrdqn-seed0 --data pre.csv post.csv --until 2024-10-31 --validation-days 14 --steps 233000

  imbarb retrain --run deploy/current --data pre.csv post.csv da.csv --until 2024-10-31 --selection-days 14

The challenger starts from the run's networks, optimiser state and replay buffer (its config,
exploring at epsilon_end) and trains --steps on every day up to --until except the last
--validation-days, which it is then compared on, beside the run itself and the threshold rule and
MPCs fitted on the same training days. By default it deploys its final network (the recent days
are not used to choose one), so the comparison is fair. With --selection-days K the K days before
the comparison days are held out too and choose what it deploys as its training does
(`training.deploy`; a residual agent's planner is a candidate, and with
`planner_lead_confidence` a network replaces it only on a significant lead): the comparison days
still chose nothing. A residual agent's candidate defaults to 14 selection days (its planner
competes, as in its training), any other's to 0 (its final network). The evidence goes to <out>/candidate.json, which `imbarb promote` reads.")]
pub struct RetrainArgs {
    /// The deployed (champion) run, or the link the service decides with.
    #[arg(long)]
    pub run: PathBuf,
    /// Market data: files (merged) or `belgium`.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<String>,
    /// The last day of data used (the most recent validation day).
    #[arg(long)]
    pub until: NaiveDate,
    /// Recent days the challenger is compared on (and not trained on).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub validation_days: u32,
    /// Days before the comparison days that choose what the candidate deploys (its planner or
    /// one of its networks, by its own `training.deploy`); 0: its final network. Default: 14 for
    /// a residual agent (so its planner competes), else 0.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=366))]
    pub selection_days: Option<u32>,
    /// Environment steps (default: the run's `warm_start_steps`, else a third of its total).
    #[arg(long, value_parser = crate::ranges::steps())]
    pub steps: Option<usize>,
    /// The candidate's directory (default: beside the run, `<run>-until-<DATE>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The run a path names: the target of a link, made absolute.
fn resolve(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))
}

/// The manifest SHA-256 of the run in `dir`.
fn identity(dir: &Path) -> Result<String> {
    let d = imbarb_agents::decide::Decider::load(dir)?;
    Ok(d.identity().manifest_sha256.clone())
}

/// Selection days a residual agent's candidate gets unless told otherwise.
pub const RESIDUAL_SELECTION_DAYS: u32 = 14;

/// The selection days of a retrain: `asked` when given, else `RESIDUAL_SELECTION_DAYS` for a
/// residual agent (whose planner must be able to compete with its networks, as in training)
/// and 0 for any other (its final network, as before the option existed).
fn selection_days_for(asked: Option<u32>, residual: bool) -> u32 {
    asked.unwrap_or(if residual { RESIDUAL_SELECTION_DAYS } else { 0 })
}

pub fn retrain(args: RetrainArgs) -> Result<()> {
    let champion = resolve(&args.run)?;
    let decider = imbarb_agents::decide::Decider::load(&champion)?;
    let champion_id = decider.identity().manifest_sha256.clone();
    let mut config = decider.manifest().config.clone();
    drop(decider);
    let recent = u64::from(args.validation_days);
    // The comparison days: the last `validation_days` calendar days up to --until.
    let compare_from = args
        .until
        .checked_sub_days(chrono::Days::new(recent - 1))
        .context("--until: no day --validation-days before it")?;
    let residual = config.residual_plan().is_some();
    let selection_days = selection_days_for(args.selection_days, residual);
    let choosing = selection_days > 0;
    if choosing {
        // Trained before the selection days, chosen on them, compared after them.
        config.data.split = format!("walk-forward:{compare_from}:{selection_days}");
        config.training.deploy = Deploy::BestValidation;
    } else {
        let test_from = args.until.succ_opt().context("--until: no day after it")?;
        config.data.split = format!("walk-forward:{test_from}:{}", args.validation_days);
        config.training.deploy = Deploy::Final;
        if residual {
            eprintln!(
                "note: {} is a residual agent; with --selection-days 0 its candidate deploys its final network, never its planner (by default its planner competes on {RESIDUAL_SELECTION_DAYS} days before the comparison days)",
                champion.display()
            );
        }
    }
    config.data.sources = args.data.clone();
    config.training.warm_start = Some(champion.display().to_string());
    config.training.total_steps = args
        .steps
        .unwrap_or(match config.training.warm_start_steps {
            0 => (config.training.total_steps / 3).max(1),
            n => n,
        });
    config.training.epsilon_start = config.training.epsilon_end;
    config.check().map_err(anyhow::Error::msg)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = champion
            .file_name()
            .map_or("run".into(), |n| n.to_string_lossy().to_string());
        champion.with_file_name(format!("{name}-until-{}", args.until))
    });
    let mut s = training_setup(&config, Some(&out), None).with_context(|| {
        format!(
            "--data with --until {}, --validation-days {} and --selection-days {selection_days}",
            args.until, args.validation_days
        )
    })?;
    let selection: Vec<usize> = if choosing { s.eval.clone() } else { vec![] };
    let compare: Vec<usize> = (0..s.days.days.len())
        .filter(|&d| (compare_from..=args.until).contains(&s.days.days[d].date))
        .collect();
    let last = compare.last().map(|&d| s.days.days[d].date);
    if last != Some(args.until) {
        bail!(
            "--until {}: the data has no complete day then (its last complete day up to it is {})",
            args.until,
            last.or_else(|| s.eval.last().map(|&d| s.days.days[d].date))
                .map_or("none".into(), |d| d.to_string())
        );
    }
    eprintln!(
        "retraining {} from {} on {} training days up to {}, {} steps{} -> {}",
        config.algo.name(),
        champion.display(),
        s.train.len(),
        s.days.days[s.train[s.train.len() - 1]].date,
        config.training.total_steps,
        if choosing {
            format!(
                ", chosen on the {} days before {compare_from}",
                selection.len()
            )
        } else {
            String::new()
        },
        out.display()
    );
    let options = TrainOptions {
        progress: !args.quiet,
        stop_after_rounds: None,
        stop: None,
    };
    let outcome = train(&s.train_data(), &config, &out, &options)?;
    let deployed = match (&outcome.best, choosing) {
        (_, false) => "final network".to_string(),
        // A residual run validates its planner alone before its first step, and only then.
        (Some(b), true) if residual && b.step == 0 => "planner".to_string(),
        (Some(b), true) => format!("network at step {}", b.step),
        (None, true) => bail!("{}: the candidate was never validated", out.display()),
    };
    let out = resolve(&out)?;
    s.eval = compare;
    let oracle = Oracle::solve(&s.days, &s.eval, &s.config)?;
    let n = s.eval.len() as f64;
    let mut eur_per_day = vec![];
    for (name, spec) in [
        ("candidate", PolicySpec::Run(out.clone())),
        ("champion", PolicySpec::Run(champion.clone())),
        ("rule", PolicySpec::Rule),
        ("mpc", PolicySpec::Mpc),
        // As the service's MPC shadow decides: refit every morning on the last 28 days.
        (
            "mpc-rolling",
            PolicySpec::MpcRolling(imbarb_experiment::DEFAULT_ROLLING_DAYS),
        ),
    ] {
        let (_, m) = run_policy(&spec, &s, &oracle, imbarb_experiment::DEFAULT_MPC_HORIZON)?;
        eur_per_day.push((name.to_string(), m.eur_per_day));
    }
    let report = CandidateReport {
        champion: (champion.display().to_string(), champion_id),
        candidate: (out.display().to_string(), identity(&out)?),
        until: args.until,
        days: s.eval.iter().map(|&d| s.days.days[d].date).collect(),
        selection_days: selection.iter().map(|&d| s.days.days[d].date).collect(),
        deployed,
        eur_per_day,
        optimum_eur_per_day: oracle.total_eur() / n,
    };
    let path = out.join("candidate.json");
    imbarb_util::fs::write_atomic(&path, serde_json::to_string_pretty(&report)?.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    outln!(
        "on the {} days up to {} (EUR/day; optimum {:.1}; the candidate deploys its {}):",
        report.days.len(),
        args.until,
        report.optimum_eur_per_day,
        report.deployed
    );
    for (name, v) in &report.eur_per_day {
        outln!("  {name:<10} {v:>9.1}");
    }
    outln!("{}", path.display());
    Ok(())
}

/// Make a candidate the deployed model: re-point the service's run link, atomically.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  imbarb promote --candidate runs/qrdqn-seed0-until-2024-09-30 --live deploy/current
  imbarb promote --candidate runs/x --live deploy/current --margin 20
  imbarb rollback --live deploy/current

The service decides with the run a link points to (`imbarb live --run deploy/current`); promote
swaps the link in one rename and the service loads the new run before its next decision, without
dropping one (the journal records the old and new identities). Refused unless the candidate's
candidate.json (from `imbarb retrain`) was measured against the run the link points to now and
earns more than it and every baseline by more than --margin EUR/day on those recent days (a
tie is refused); --force overrides.
Every promotion is appended to <link>.promotions.jsonl, which rollback reads.")]
pub struct PromoteArgs {
    /// The candidate run (with the candidate.json `imbarb retrain` wrote).
    #[arg(long)]
    pub candidate: PathBuf,
    /// The link the service decides with.
    #[arg(long)]
    pub live: PathBuf,
    /// How much more than the champion and every baseline the candidate must earn, EUR/day
    /// (strictly: at 0 a tie is refused).
    #[arg(long, default_value_t = 0.0)]
    pub margin: f64,
    /// Promote even when the evidence does not support it.
    #[arg(long)]
    pub force: bool,
}

/// Return to the model before the latest promotion.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The link the service decides with.
    #[arg(long)]
    pub live: PathBuf,
}

/// One promotion or rollback, as `<link>.promotions.jsonl` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Promotion {
    at: chrono::DateTime<Utc>,
    kind: String,
    from: String,
    to: String,
    forced: bool,
    evidence: Option<CandidateReport>,
}

fn history_path(link: &Path) -> PathBuf {
    let mut name = link
        .file_name()
        .map_or_else(Default::default, |n| n.to_os_string());
    name.push(".promotions.jsonl");
    link.with_file_name(name)
}

/// Points `link` at `target` in one rename (a reader sees the old run or the new, never none).
fn repoint(link: &Path, target: &Path) -> Result<()> {
    let meta =
        std::fs::symlink_metadata(link).with_context(|| format!("--live {}", link.display()))?;
    if !meta.file_type().is_symlink() {
        bail!(
            "--live {}: not a symbolic link; start the service with --run on a link to the run (ln -s RUN {}) so a promotion can re-point it",
            link.display(),
            link.display()
        );
    }
    let tmp = link.with_file_name(format!(
        ".{}.tmp-{}",
        link.file_name()
            .map_or("link".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp).with_context(|| format!("{}", tmp.display()))?;
    #[cfg(not(unix))]
    bail!("promotion needs symbolic links (Unix)");
    std::fs::rename(&tmp, link).with_context(|| format!("re-pointing {}", link.display()))?;
    Ok(())
}

fn append(link: &Path, p: &Promotion) -> Result<()> {
    use std::io::Write;
    let path = history_path(link);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(p)?)?;
    f.sync_all()?;
    Ok(())
}

/// Why the evidence does not support promoting: each of the champion and the baselines the
/// candidate does not beat by more than `margin` EUR/day on the recent days. Strictly more: a
/// candidate level with the champion (the same planner retrained, say) changes nothing the
/// evidence can show, and a swap that shows nothing is not made.
fn shortfalls(report: &CandidateReport, margin: f64) -> Result<Vec<String>> {
    let cand = report
        .eur("candidate")
        .context("candidate.json: no candidate figure")?;
    let mut out = vec![];
    for other in ["champion", "rule", "mpc", "mpc-rolling"] {
        if let Some(v) = report.eur(other) {
            if cand <= v + margin {
                out.push(format!(
                    "the candidate earned {cand:.1} EUR/day on the {} recent days, the {other} {v:.1} (it must earn more than that plus the margin, {margin:.1})",
                    report.days.len(),
                ));
            }
        }
    }
    Ok(out)
}

pub fn promote(args: PromoteArgs) -> Result<()> {
    imbarb_util::range::Range::closed(0.0, 1e9).check("--margin", args.margin)?;
    let candidate = resolve(&args.candidate)?;
    let current = resolve(&args.live)?;
    let path = candidate.join("candidate.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{}: no evidence to promote on (run `imbarb retrain` to make a candidate)",
            path.display()
        )
    })?;
    let report: CandidateReport =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let mut refusals = vec![];
    let current_id = identity(&current)?;
    if report.champion.1 != current_id {
        refusals.push(format!(
            "the candidate was compared with {} ({}), but {} points to {} ({})",
            report.champion.0,
            &report.champion.1[..12.min(report.champion.1.len())],
            args.live.display(),
            current.display(),
            &current_id[..12.min(current_id.len())]
        ));
    }
    refusals.extend(shortfalls(&report, args.margin)?);
    if !refusals.is_empty() && !args.force {
        bail!(
            "not promoted: {} (--force to promote anyway)",
            refusals.join("; ")
        );
    }
    repoint(&args.live, &candidate)?;
    append(
        &args.live,
        &Promotion {
            at: Utc::now(),
            kind: "promote".into(),
            from: current.display().to_string(),
            to: candidate.display().to_string(),
            forced: !refusals.is_empty(),
            evidence: Some(report),
        },
    )?;
    outln!(
        "{} -> {} (was {}){}",
        args.live.display(),
        candidate.display(),
        current.display(),
        if refusals.is_empty() {
            String::new()
        } else {
            format!("; forced over: {}", refusals.join("; "))
        }
    );
    Ok(())
}

pub fn rollback(args: RollbackArgs) -> Result<()> {
    let current = resolve(&args.live)?;
    let path = history_path(&args.live);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: no promotion to roll back", path.display()))?;
    let mut last = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let p: Promotion = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        last = Some(p);
    }
    let Some(last) = last.filter(|p| p.kind == "promote") else {
        bail!(
            "{}: the latest entry is not a promotion (already rolled back?)",
            path.display()
        );
    };
    if Path::new(&last.to) != current {
        bail!(
            "{} points to {}, not to {} which the latest promotion installed: re-pointed by hand?",
            args.live.display(),
            current.display(),
            last.to
        );
    }
    let previous = PathBuf::from(&last.from);
    if !previous.join("manifest.json").is_file() {
        bail!("the previous run {} is gone", previous.display());
    }
    repoint(&args.live, &previous)?;
    append(
        &args.live,
        &Promotion {
            at: Utc::now(),
            kind: "rollback".into(),
            from: current.display().to_string(),
            to: previous.display().to_string(),
            forced: false,
            evidence: None,
        },
    )?;
    outln!(
        "{} -> {} (rolled back from {})",
        args.live.display(),
        previous.display(),
        current.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(candidate: f64, champion: f64) -> CandidateReport {
        CandidateReport {
            champion: ("runs/a".into(), "a".repeat(64)),
            candidate: ("runs/b".into(), "b".repeat(64)),
            until: NaiveDate::from_ymd_opt(2024, 9, 30).unwrap(),
            days: vec![NaiveDate::from_ymd_opt(2024, 9, 30).unwrap(); 14],
            selection_days: vec![],
            deployed: "planner".into(),
            eur_per_day: vec![
                ("candidate".into(), candidate),
                ("champion".into(), champion),
                ("rule".into(), 700.0),
                ("mpc".into(), 800.0),
            ],
            optimum_eur_per_day: 2000.0,
        }
    }

    #[test]
    fn a_residual_candidate_lets_its_planner_compete_unless_told_otherwise() {
        assert_eq!(selection_days_for(None, true), 14);
        assert_eq!(selection_days_for(None, false), 0);
        assert_eq!(selection_days_for(Some(0), true), 0);
        assert_eq!(selection_days_for(Some(7), false), 7);
    }

    #[test]
    fn promotion_needs_a_strict_lead_over_every_figure() {
        // Level with the champion (an identical planner): refused at margin 0.
        let tie = shortfalls(&report(900.0, 900.0), 0.0).unwrap();
        assert_eq!(tie.len(), 1, "{tie:?}");
        assert!(tie[0].contains("the champion 900.0"), "{tie:?}");
        // A cent ahead of everything: accepted at 0, refused at a margin of one euro.
        assert!(shortfalls(&report(900.01, 900.0), 0.0).unwrap().is_empty());
        let short = shortfalls(&report(900.01, 900.0), 1.0).unwrap();
        assert_eq!(short.len(), 1, "{short:?}");
        // Behind a baseline too: both named.
        let both = shortfalls(&report(750.0, 760.0), 0.0).unwrap();
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(both[1].contains("the mpc 800.0"), "{both:?}");
        // No candidate figure: an error, not a promotion.
        let mut none = report(1.0, 0.0);
        none.eur_per_day.remove(0);
        assert!(shortfalls(&none, 0.0).is_err());
    }
}
