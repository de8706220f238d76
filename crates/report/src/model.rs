//! What a report is made of: the evaluation an experiment writes (`evaluation.json`: per group of
//! comparable runs, every policy's metrics and daily P&L, and the traces of representative days)
//! and, per training run, its manifest and validation curve. Kept as data so that `imbarb report`
//! can rebuild the page without backtesting again.

use chrono::NaiveDate;
use imbarb_eval::Metrics;
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
    /// "cap none / Qh decisions / 3 levels".
    pub label: String,
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

/// A training run as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Run directory name.
    pub name: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Its manifest (config, seed, data hash, code version, best validation).
    pub manifest: serde_json::Value,
    /// Validation EUR/day by environment step.
    pub curve: Vec<(f64, f64)>,
}
