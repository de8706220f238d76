//! The policies a backtest can run, named once: `PolicySpec` is parsed from the command line or
//! an experiment file, and turned into a `Policy` for a setup here (baselines fitted on its
//! training days, the oracle replayed, a trained run loaded).

use crate::setup::Setup;
use anyhow::{Context, Result};
use imbarb_baselines::{ForecastMpc, Idle, RollingMpc, ThresholdRule, TimeOfDaySchedule};
use imbarb_eval::{backtest, oracle_policy, Backtest, Metrics, Oracle};
use imbarb_sim::{ActionSpace, Granularity, Policy};
use std::path::{Path, PathBuf};

pub use imbarb_baselines::mpc::DEFAULT_MPC_HORIZON;
pub use imbarb_baselines::mpc_rolling::DEFAULT_ROLLING_DAYS;

/// A policy to backtest, as a user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySpec {
    /// Threshold rule on the last known price, fitted on training days.
    Rule,
    /// Time-of-day schedule, fitted on training days.
    Schedule,
    /// Rolling LP on a persistence + time-of-day profile forecast.
    Mpc,
    /// The same MPC refit every day on the complete days of the last N days before it, as the
    /// live service's shadow does (`mpc-rolling:N`; `mpc-rolling`: 28 days).
    MpcRolling(u32),
    /// Stochastic MPC: a two-stage LP over price paths drawn from a probabilistic forecaster
    /// trained on the training days; the seed of the forecaster and the paths (`smpc:SEED`).
    Smpc(u64),
    /// The same stochastic MPC over the forecaster's gradient-boosted tree baseline instead of
    /// the quantile MLP (`smpc-trees:SEED`; the seed draws the paths).
    SmpcTrees(u64),
    /// The deterministic plan the agents observe, acting alone: dynamic programming over a
    /// forecaster's expected prices (fitted on the training days; under a cap, the cycle price
    /// too).
    Plan,
    /// The same plan over the forecaster's gradient-boosted tree baseline (`plan-trees`).
    PlanTrees,
    /// The same plan over the rolling MPC's forecast (refit every day on the last N days) instead
    /// of the forecaster's (`plan-mpc-rolling:N`; `plan-mpc-rolling`: 28 days).
    PlanMpcRolling(u32),
    /// The same plan valuing stored energy as the rolling MPC does, from the mean price of each
    /// day's window rather than the training days' (`plan-mpc-rolling-terminal:N`; 28 days
    /// without a number): a planner that follows the market entirely.
    PlanMpcRollingTerminal(u32),
    /// Never moves.
    Idle,
    /// Perfect foresight, replayed in the simulator.
    Oracle,
    /// A trained run directory.
    Run(PathBuf),
    /// The planner a trained run observes (`[forecast_features.plan]`, over its saved
    /// forecaster), acting alone: what a residual agent adjusts (`run-plan:<dir>`).
    RunPlan(PathBuf),
}

impl PolicySpec {
    /// The baselines an experiment file may list (every spec but a trained run).
    pub const BASELINES: [PolicySpec; 12] = [
        PolicySpec::Rule,
        PolicySpec::Schedule,
        PolicySpec::Mpc,
        PolicySpec::MpcRolling(DEFAULT_ROLLING_DAYS),
        PolicySpec::Smpc(0),
        PolicySpec::SmpcTrees(0),
        PolicySpec::Plan,
        PolicySpec::PlanTrees,
        PolicySpec::PlanMpcRolling(DEFAULT_ROLLING_DAYS),
        PolicySpec::PlanMpcRollingTerminal(DEFAULT_ROLLING_DAYS),
        PolicySpec::Idle,
        PolicySpec::Oracle,
    ];

    /// The trained run's directory, when this is one or its planner.
    pub fn run_dir(&self) -> Option<&Path> {
        match self {
            PolicySpec::Run(dir) | PolicySpec::RunPlan(dir) => Some(dir),
            _ => None,
        }
    }
}

/// File-name stems for the ledgers of `specs`, one per spec and all different: the spec
/// written with every character a file name should not hold replaced by `-` (`run:runs/a b` ->
/// `run-runs-a-b`), and a `-2`, `-3`, ... where two specs would still share a stem (the same
/// policy twice, or runs whose paths differ only in such characters).
pub fn ledger_stems(specs: &[PolicySpec]) -> Vec<String> {
    let mut used = std::collections::BTreeSet::new();
    specs
        .iter()
        .map(|spec| {
            let mut slug = String::new();
            for c in spec.to_string().chars() {
                let keep = c.is_ascii_alphanumeric() || c == '_' || c == '.';
                if keep {
                    slug.push(c);
                } else if !slug.ends_with('-') {
                    slug.push('-');
                }
            }
            let slug = slug.trim_matches(['-', '.']).to_string();
            let slug = if slug.is_empty() {
                "policy".to_string()
            } else {
                slug
            };
            let mut stem = slug.clone();
            let mut k = 2;
            while !used.insert(stem.clone()) {
                stem = format!("{slug}-{k}");
                k += 1;
            }
            stem
        })
        .collect()
}

impl std::fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySpec::Rule => f.write_str("rule"),
            PolicySpec::Schedule => f.write_str("schedule"),
            PolicySpec::Mpc => f.write_str("mpc"),
            PolicySpec::MpcRolling(DEFAULT_ROLLING_DAYS) => f.write_str("mpc-rolling"),
            PolicySpec::MpcRolling(days) => write!(f, "mpc-rolling:{days}"),
            PolicySpec::Smpc(0) => f.write_str("smpc"),
            PolicySpec::Smpc(seed) => write!(f, "smpc:{seed}"),
            PolicySpec::SmpcTrees(0) => f.write_str("smpc-trees"),
            PolicySpec::SmpcTrees(seed) => write!(f, "smpc-trees:{seed}"),
            PolicySpec::Plan => f.write_str("plan"),
            PolicySpec::PlanTrees => f.write_str("plan-trees"),
            PolicySpec::PlanMpcRolling(DEFAULT_ROLLING_DAYS) => f.write_str("plan-mpc-rolling"),
            PolicySpec::PlanMpcRolling(days) => write!(f, "plan-mpc-rolling:{days}"),
            PolicySpec::PlanMpcRollingTerminal(DEFAULT_ROLLING_DAYS) => {
                f.write_str("plan-mpc-rolling-terminal")
            }
            PolicySpec::PlanMpcRollingTerminal(days) => {
                write!(f, "plan-mpc-rolling-terminal:{days}")
            }
            PolicySpec::Idle => f.write_str("idle"),
            PolicySpec::Oracle => f.write_str("oracle"),
            PolicySpec::Run(dir) => write!(f, "run:{}", dir.display()),
            PolicySpec::RunPlan(dir) => write!(f, "run-plan:{}", dir.display()),
        }
    }
}

impl std::str::FromStr for PolicySpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        for (prefix, make) in [
            ("smpc", PolicySpec::Smpc as fn(u64) -> PolicySpec),
            ("smpc-trees", PolicySpec::SmpcTrees),
        ] {
            if let Some(seed) = s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
                return seed.parse().map(make).map_err(|_| {
                    format!("policy `{s}`: expected {prefix}:SEED with a whole number seed")
                });
            }
        }
        for (prefix, make) in [
            (
                "mpc-rolling",
                PolicySpec::MpcRolling as fn(u32) -> PolicySpec,
            ),
            ("plan-mpc-rolling", PolicySpec::PlanMpcRolling),
            (
                "plan-mpc-rolling-terminal",
                PolicySpec::PlanMpcRollingTerminal,
            ),
        ] {
            if let Some(days) = s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
                let max = imbarb_baselines::mpc_rolling::MAX_ROLLING_DAYS;
                return match days.parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(make(n)),
                    _ => Err(format!(
                        "policy `{s}`: expected {prefix}:DAYS with DAYS a whole number from 1 to {max}"
                    )),
                };
            }
        }
        for (prefix, make) in [
            ("run", PolicySpec::Run as fn(PathBuf) -> PolicySpec),
            ("run-plan", PolicySpec::RunPlan),
        ] {
            if let Some(dir) = s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
                if dir.is_empty() {
                    return Err(format!(
                        "policy `{prefix}:` names no run directory: write {prefix}:<dir>"
                    ));
                }
                return Ok(make(PathBuf::from(dir)));
            }
        }
        PolicySpec::BASELINES
            .into_iter()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown policy `{s}`: expected rule, schedule, mpc, mpc-rolling[:DAYS], smpc[:SEED], smpc-trees[:SEED], plan, plan-trees, plan-mpc-rolling[:DAYS], plan-mpc-rolling-terminal[:DAYS], idle, oracle, run:<dir> or run-plan:<dir>"
                )
            })
    }
}

impl serde::Serialize for PolicySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for PolicySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The policy `spec` for setup `s` (`horizon`: the MPC's look-ahead in quarter-hours).
pub fn make_policy(
    spec: &PolicySpec,
    s: &Setup,
    oracle: &Oracle,
    horizon: usize,
) -> Result<Box<dyn Policy>> {
    Ok(match spec {
        PolicySpec::Rule => Box::new(ThresholdRule::fit(
            &s.days,
            &s.features,
            &s.config,
            &s.train,
        )?),
        PolicySpec::Schedule => Box::new(TimeOfDaySchedule::fit(
            &s.days,
            &s.features,
            &s.config,
            &s.train,
        )?),
        PolicySpec::Mpc => Box::new(ForecastMpc::fit(
            &s.days,
            &s.train,
            s.config.battery,
            s.config.actions,
            horizon,
        )?),
        PolicySpec::MpcRolling(window) => Box::new(RollingMpc::fit(
            &s.days,
            &s.eval,
            *window,
            s.config.battery,
            s.config.actions,
            horizon,
        )?),
        PolicySpec::Smpc(seed) | PolicySpec::SmpcTrees(seed) => {
            Box::new(imbarb_plan::StochasticMpc::fit(
                &s.days,
                &s.train,
                s.config.battery,
                s.config.actions,
                &imbarb_plan::SmpcConfig {
                    seed: *seed,
                    forecast: imbarb_plan::ForecastConfig {
                        horizon,
                        seed: *seed,
                        ..imbarb_plan::ForecastConfig::default()
                    },
                    trees: matches!(spec, PolicySpec::SmpcTrees(_)),
                    ..imbarb_plan::SmpcConfig::default()
                },
            )?)
        }
        PolicySpec::Plan
        | PolicySpec::PlanTrees
        | PolicySpec::PlanMpcRolling(_)
        | PolicySpec::PlanMpcRollingTerminal(_) => {
            let forecast = imbarb_plan::ForecastConfig {
                horizon,
                ..imbarb_plan::ForecastConfig::default()
            };
            let columns = imbarb_plan::PlanColumns {
                horizon,
                rolling_mpc_days: match spec {
                    PolicySpec::PlanMpcRolling(n) | PolicySpec::PlanMpcRollingTerminal(n) => {
                        Some(*n)
                    }
                    _ => None,
                },
                terminal_from_window: matches!(spec, PolicySpec::PlanMpcRollingTerminal(_)),
                ..imbarb_plan::PlanColumns::default()
            };
            let trees =
                matches!(spec, PolicySpec::PlanTrees).then(imbarb_plan::TreeSettings::default);
            Box::new(imbarb_plan::PlanPolicy::fit(
                &s.days,
                &s.features,
                &s.config,
                &s.train,
                &forecast,
                trees.as_ref(),
                &columns,
            )?)
        }
        PolicySpec::Idle => Box::new(Idle {
            space: s.config.actions,
        }),
        PolicySpec::Oracle => Box::new(oracle_policy(oracle, &s.eval, &s.config)),
        PolicySpec::Run(dir) => Box::new(
            imbarb_agents::RunPolicy::load(dir, &s.days, &s.train, &s.config)
                .with_context(|| format!("loading trained run {}", dir.display()))?,
        ),
        PolicySpec::RunPlan(dir) => Box::new(
            imbarb_agents::RunPolicy::load_plan(dir, &s.days, &s.train, &s.config)
                .with_context(|| format!("loading the planner of trained run {}", dir.display()))?,
        ),
    })
}

/// Backtests `spec` on `s`'s evaluation days, with its metrics (% of perfect foresight from
/// `oracle` included).
pub fn run_policy(
    spec: &PolicySpec,
    s: &Setup,
    oracle: &Oracle,
    horizon: usize,
) -> Result<(Backtest, Metrics)> {
    let mut policy = make_policy(spec, s, oracle, horizon)?;
    let bt = backtest(&s.days, &s.features, &s.config, &s.eval, policy.as_mut())?;
    let m = metrics_of(&bt, &s.config.battery, oracle.total_eur());
    Ok((bt, m))
}

/// The metrics of a backtest of `battery` against the optimum `oracle_total_eur` on the same
/// days (also over pooled walk-forward months).
pub fn metrics_of(
    bt: &Backtest,
    battery: &imbarb_sim::BatteryConfig,
    oracle_total_eur: f64,
) -> Metrics {
    let rated = battery.discharge_power_mw.max(battery.charge_power_mw);
    Metrics::of(bt, Some(oracle_total_eur), rated)
}

/// The action space of the trained runs among `policies`, when they agree: evaluating a run on
/// another action space than it learned on silently changes its results (a 3-level agent on
/// continuous power may execute partial moves it never chose). `None` when no run is named; an
/// error when runs disagree or a manifest cannot be read.
pub fn runs_action_space(policies: &[PolicySpec]) -> Result<Option<ActionSpace>> {
    runs_agree(
        policies,
        "act on different action spaces: choose one with --actions",
        |m| m.config.env.actions,
    )
}

/// The decision granularity of the trained runs among `policies`, when they agree (a run is
/// evaluated at the granularity it learned); as `runs_action_space`.
pub fn runs_granularity(policies: &[PolicySpec]) -> Result<Option<Granularity>> {
    runs_agree(
        policies,
        "decide at different granularities: evaluate them separately",
        |m| m.config.env.granularity,
    )
}

/// What the trained runs among `policies` share according to `get` (from their manifests);
/// `None` without runs; an error naming two runs that disagree (`differ`: how to say so).
fn runs_agree<T: PartialEq + Copy + std::fmt::Display>(
    policies: &[PolicySpec],
    differ: &str,
    get: impl Fn(&imbarb_agents::trainer::Manifest) -> T,
) -> Result<Option<T>> {
    let mut found: Option<(T, &Path)> = None;
    for dir in policies.iter().filter_map(PolicySpec::run_dir) {
        let manifest = imbarb_agents::trainer::read_manifest(dir)
            .with_context(|| format!("reading the manifest of trained run {}", dir.display()))?;
        let value = get(&manifest);
        match found {
            Some((first, other)) if first != value => anyhow::bail!(
                "trained runs {} ({first}) and {} ({value}) {differ}",
                other.display(),
                dir.display()
            ),
            Some(_) => {}
            None => found = Some((value, dir)),
        }
    }
    Ok(found.map(|(value, _)| value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs whose paths differ only in characters a file name drops, and a policy given twice,
    /// still get ledgers of their own (they all went to one file before); plain names stay plain.
    #[test]
    fn ledger_stems_never_collide() {
        let specs: Vec<PolicySpec> = [
            "run:runs/a-b",
            "run:runs/ab",
            "run:runs/a b",
            "run:runs/a-b",
            "rule",
            "rule",
            "run:../x/./",
        ]
        .iter()
        .map(|s| s.parse().expect("spec"))
        .collect();
        let stems = ledger_stems(&specs);
        assert_eq!(
            stems,
            [
                "run-runs-a-b",
                "run-runs-ab",
                "run-runs-a-b-2",
                "run-runs-a-b-3",
                "rule",
                "rule-2",
                "run-..-x"
            ]
        );
        let distinct: std::collections::BTreeSet<&String> = stems.iter().collect();
        assert_eq!(distinct.len(), stems.len());
        for s in &stems {
            assert!(
                !s.contains('/') && !s.starts_with('.') && !s.is_empty(),
                "{s}"
            );
        }
    }

    #[test]
    fn specs_round_trip_and_bad_ones_are_named() {
        for text in [
            "rule",
            "schedule",
            "mpc",
            "idle",
            "oracle",
            "run:runs/q-seed0",
            "run-plan:runs/q-seed0",
            "plan",
            "mpc-rolling",
            "mpc-rolling:7",
            "plan-mpc-rolling",
            "plan-mpc-rolling:56",
            "plan-mpc-rolling-terminal",
            "plan-mpc-rolling-terminal:14",
        ] {
            let spec: PolicySpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            " run:a/b ".parse::<PolicySpec>(),
            Ok(PolicySpec::Run("a/b".into()))
        );
        let err = "magic".parse::<PolicySpec>().unwrap_err();
        assert!(
            err.contains("`magic`") && err.contains("run:<dir>"),
            "{err}"
        );
        assert!("run:".parse::<PolicySpec>().is_err());
        assert_eq!(
            "mpc-rolling:28".parse::<PolicySpec>(),
            Ok(PolicySpec::MpcRolling(28))
        );
        for bad in [
            "mpc-rolling:0",
            "mpc-rolling:x",
            "mpc-rolling:",
            "mpc-rolling:3661",
        ] {
            let err = bad.parse::<PolicySpec>().unwrap_err();
            assert!(err.contains(bad) && err.contains("1 to 3660"), "{err}");
        }
        let err = "run-plan:".parse::<PolicySpec>().unwrap_err();
        assert!(err.contains("run-plan:<dir>"), "{err}");
        assert_eq!(
            "run-plan:a/b".parse::<PolicySpec>(),
            Ok(PolicySpec::RunPlan("a/b".into()))
        );
    }
}
