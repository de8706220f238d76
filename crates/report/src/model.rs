//! What a report is made of: the evaluation an experiment writes (`evaluation.json`: per group of
//! comparable runs, every policy's metrics and daily P&L, and the traces of representative days)
//! and, per training run, its manifest and validation curve. Kept as data so that `imbarb report`
//! can rebuild the page without backtesting again.

use chrono::NaiveDate;
use imbarb_agents::trainer::{Manifest, MetricsLine};
use imbarb_eval::{mean_interval, Metrics, SeedSummary};
use serde::{Deserialize, Serialize};

/// An experiment's evaluation on the test days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Experiment name.
    pub name: String,
    /// imbarb version that evaluated.
    pub code_version: String,
    /// Groups of comparable policies (same data, battery, cap, granularity, action space).
    pub groups: Vec<GroupResult>,
    /// Remarks (runs left out, data notes).
    pub notes: Vec<String>,
}

/// One group: the same days and constraints for every policy in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    /// "cap none / quarter-hour decisions / 3-level".
    pub label: String,
    /// What the group shares with groups of other action spaces (data, split, battery with its
    /// cap, decisions): groups with equal `comparable` differ only in their actions.
    #[serde(default)]
    pub comparable: String,
    /// Whether the group acts on continuous power.
    #[serde(default)]
    pub continuous: bool,
    /// The evaluation setup in words (days, battery, data).
    pub setup: String,
    /// Test days, in order.
    pub dates: Vec<NaiveDate>,
    /// Summary statistics of the test days' prices.
    pub prices: PriceSummary,
    /// The perfect-foresight optimum, EUR/day.
    pub oracle_eur_per_day: f64,
    /// Every evaluated policy (agents once per seed).
    pub policies: Vec<PolicyResult>,
    /// Representative days (best, median, worst of the best agent) for each policy.
    pub traces: Vec<DayTrace>,
    /// Walk-forward groups: each test month with its own training window (empty otherwise).
    #[serde(default)]
    pub periods: Vec<PeriodResult>,
}

/// One test period of a walk-forward group (a month), every policy refit or retrained for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodResult {
    /// The period, e.g. `2024-07`.
    pub label: String,
    /// Its test days.
    pub days: usize,
    /// Its training days.
    pub train_days: usize,
    /// The perfect-foresight optimum, EUR/day.
    pub oracle_eur_per_day: f64,
    /// Each policy's EUR/day in the period (agents per seed).
    pub policies: Vec<PeriodPolicy>,
}

/// One policy's profit in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodPolicy {
    /// Policy name.
    pub name: String,
    /// The run's seed (agents).
    pub seed: Option<u64>,
    /// Mean daily profit in the period, EUR.
    pub eur_per_day: f64,
}

impl GroupResult {
    /// Each policy with its runs (agents: one per seed), in order of first appearance.
    pub fn by_policy(&self) -> Vec<(&str, Vec<&PolicyResult>)> {
        let mut out: Vec<(&str, Vec<&PolicyResult>)> = vec![];
        for p in &self.policies {
            match out.iter_mut().find(|(n, _)| *n == p.name) {
                Some((_, v)) => v.push(p),
                None => out.push((&p.name, vec![p])),
            }
        }
        out
    }

    /// Every policy's metrics over its seeds: the rows of the results tables.
    pub fn summaries(&self) -> Vec<PolicySummary<'_>> {
        self.by_policy()
            .into_iter()
            .map(|(name, runs)| {
                let mean = |f: fn(&Metrics) -> f64| mean_over(&runs, |r| f(&r.metrics));
                let eur: Vec<f64> = runs.iter().map(|r| r.metrics.eur_per_day).collect();
                PolicySummary {
                    name,
                    kind: &runs[0].kind,
                    seeds: runs.len(),
                    eur_per_day: mean_interval(&eur, 0.95),
                    pct_of_perfect: mean(|m| m.pct_of_perfect.unwrap_or(f64::NAN)),
                    cycles_per_day: mean(|m| m.cycles_per_day),
                    daily_std_eur: mean(|m| m.daily_std_eur),
                    var_10_eur: mean(|m| m.var_10_eur),
                    cvar_10_eur: mean(|m| m.cvar_10_eur),
                    losing_day_share: mean(|m| m.losing_day_share),
                }
            })
            .collect()
    }

    /// The non-oracle baseline with the highest EUR/day, with that figure: what an agent must
    /// beat to be worth training.
    pub fn best_baseline(&self) -> Option<(&str, f64)> {
        self.policies
            .iter()
            .filter(|p| p.kind == "baseline" && p.name != "oracle")
            .map(|p| (p.name.as_str(), p.metrics.eur_per_day))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

impl Evaluation {
    /// The continuous-power group comparable to `g` (same data, battery, cap and decisions), if
    /// `g` acts on levels and the experiment has one.
    pub fn continuous_twin(&self, g: &GroupResult) -> Option<&GroupResult> {
        if g.continuous || g.comparable.is_empty() {
            return None;
        }
        self.groups
            .iter()
            .find(|h| h.continuous && h.comparable == g.comparable)
    }
}

/// The policies of `rows` on the risk-return frontier: none other earns more on average with a
/// tail (CVaR 10 % of daily P&L) at least as good, or a better tail at least as much on average.
/// The oracle is left out (no policy can match it). Sorted by mean profit, highest first.
pub fn frontier<'a>(rows: &[PolicySummary<'a>]) -> Vec<PolicySummary<'a>> {
    let mean = |p: &PolicySummary| p.eur_per_day.map_or(f64::NAN, |e| e.mean);
    let candidates: Vec<&PolicySummary> = rows
        .iter()
        .filter(|p| p.name != "oracle" && mean(p).is_finite())
        .collect();
    let dominated = |p: &PolicySummary| {
        candidates.iter().any(|q| {
            let (better_mean, better_tail) = (mean(q) >= mean(p), q.cvar_10_eur >= p.cvar_10_eur);
            better_mean && better_tail && (mean(q) > mean(p) || q.cvar_10_eur > p.cvar_10_eur)
        })
    };
    let mut out: Vec<PolicySummary> = candidates
        .iter()
        .filter(|p| !dominated(p))
        .map(|p| (*p).clone())
        .collect();
    out.sort_by(|a, b| mean(b).total_cmp(&mean(a)));
    out
}

/// Mean of `f` over a policy's runs (0 when there are none).
pub fn mean_over(runs: &[&PolicyResult], f: impl Fn(&PolicyResult) -> f64) -> f64 {
    runs.iter().map(|r| f(r)).sum::<f64>() / runs.len().max(1) as f64
}

/// One policy's test-day metrics over its seeds (means, and EUR/day with a 95 % Student-t
/// interval), as the results tables show them.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySummary<'a> {
    /// Policy name.
    pub name: &'a str,
    /// "agent" or "baseline".
    pub kind: &'a str,
    /// Number of runs (seeds).
    pub seeds: usize,
    /// EUR/day: mean and 95 % interval over seeds (None if a value is not finite).
    pub eur_per_day: Option<SeedSummary>,
    /// Mean % of perfect foresight.
    pub pct_of_perfect: f64,
    /// Mean full cycles per day.
    pub cycles_per_day: f64,
    /// Mean standard deviation of daily P&L, EUR.
    pub daily_std_eur: f64,
    /// Mean VaR 10 % of daily P&L, EUR.
    pub var_10_eur: f64,
    /// Mean CVaR 10 % of daily P&L, EUR.
    pub cvar_10_eur: f64,
    /// Mean share of days with a loss.
    pub losing_day_share: f64,
}

/// Price statistics over the test days, EUR/MWh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceSummary {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Lowest.
    pub min: f64,
    /// Highest.
    pub max: f64,
    /// Share of negative quarter-hours.
    pub negative_share: f64,
}

impl PriceSummary {
    /// The statistics of `prices` (empty: all zero).
    pub fn of(prices: &[f64]) -> PriceSummary {
        let n = prices.len().max(1) as f64;
        let mean = prices.iter().sum::<f64>() / n;
        let std = (prices.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n).sqrt();
        PriceSummary {
            mean,
            std,
            min: prices
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .min(mean),
            max: prices
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                .max(mean),
            negative_share: prices.iter().filter(|p| **p < 0.0).count() as f64 / n,
        }
    }
}

/// One policy's test-day results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// Agent name (from the experiment) or baseline.
    pub name: String,
    /// "agent" or "baseline".
    pub kind: String,
    /// The run's seed (agents).
    pub seed: Option<u64>,
    /// The run directory (agents).
    pub run: Option<String>,
    /// Backtest metrics.
    pub metrics: Metrics,
    /// P&L per test day, EUR, in the order of the group's dates.
    pub daily_eur: Vec<f64>,
}

/// One policy on one representative day: price, power and SoC per decision period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayTrace {
    /// The day.
    pub date: NaiveDate,
    /// Why it was chosen: "best", "median" or "worst".
    pub why: String,
    /// The policy (agents: their first seed).
    pub policy: String,
    /// Price per quarter-hour, EUR/MWh.
    pub price: Vec<f64>,
    /// Grid power per quarter-hour, MW (> 0 discharge).
    pub power_mw: Vec<f64>,
    /// State of charge at the end of each quarter-hour, MWh.
    pub soc_mwh: Vec<f64>,
}

/// A training run as the report shows it: its manifest and metrics as the trainer wrote them
/// (typed, so a field the trainer renames breaks the build instead of emptying a column).
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Run directory name.
    pub name: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Its manifest (config, seed, data hash, code version, best validation).
    pub manifest: Manifest,
    /// One line per validation: validation and training return, loss, exploration.
    pub metrics: Vec<MetricsLine>,
    /// Training speed over all its sessions up to its last validation (None before the first).
    pub throughput: Option<Throughput>,
}

impl RunInfo {
    /// Validation EUR/day by environment step.
    pub fn validation_curve(&self) -> Vec<(f64, f64)> {
        self.curve(|m| m.val_eur_per_day)
    }

    /// Any metric by environment step.
    pub fn curve(&self, f: impl Fn(&MetricsLine) -> f64) -> Vec<(f64, f64)> {
        self.metrics.iter().map(|m| (m.step as f64, f(m))).collect()
    }
}

/// How fast a run trained up to its last `metrics.jsonl` line, its sessions' wall time summed
/// when it was interrupted and resumed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Environment steps per second.
    pub env_steps_per_s: f64,
    /// Gradient updates per second.
    pub updates_per_s: f64,
}

/// Each agent's mean training speed over its runs, in order of first appearance: (agent, runs
/// with a measurement, mean throughput).
pub fn throughput_by_agent(runs: &[RunInfo]) -> Vec<(&str, usize, Throughput)> {
    let mut out: Vec<(&str, Vec<Throughput>)> = vec![];
    for r in runs {
        let Some(t) = r.throughput else { continue };
        match out.iter_mut().find(|(a, _)| *a == r.agent) {
            Some((_, v)) => v.push(t),
            None => out.push((&r.agent, vec![t])),
        }
    }
    out.into_iter()
        .map(|(agent, ts)| {
            let n = ts.len() as f64;
            let mean = |f: fn(&Throughput) -> f64| ts.iter().map(f).sum::<f64>() / n;
            (
                agent,
                ts.len(),
                Throughput {
                    wall_s: mean(|t| t.wall_s),
                    env_steps_per_s: mean(|t| t.env_steps_per_s),
                    updates_per_s: mean(|t| t.updates_per_s),
                },
            )
        })
        .collect()
}
