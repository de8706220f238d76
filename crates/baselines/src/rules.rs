//! Rule-based policies fitted on training days: a threshold rule on the last known price, a
//! time-of-day schedule on the training-average price profile, and idle.

use crate::error::BaselineError;
use imbarb_sim::{
    action_for_fraction, rollout, Action, ActionSpace, Decision, EnvConfig, MarketDays,
    MarketFeatures, Policy,
};
use imbarb_util::stats::quantile_sorted;

/// Does nothing; the zero line of every report.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// The action space to answer in.
    pub space: ActionSpace,
}

impl Policy for Idle {
    fn name(&self) -> String {
        "idle".into()
    }
    fn act(&mut self, d: &Decision) -> Action {
        action_for_fraction(self.space, 0.0, d.mask)
    }
}

/// Charge at full power when the last known final price is below `low`, discharge when above
/// `high`, otherwise idle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdRule {
    /// Charge below this price, EUR/MWh.
    pub low: f64,
    /// Discharge above this price, EUR/MWh.
    pub high: f64,
    /// The action space to answer in.
    pub space: ActionSpace,
}

impl Policy for ThresholdRule {
    fn name(&self) -> String {
        format!(
            "threshold(<{:.0} charge, >{:.0} discharge)",
            self.low, self.high
        )
    }
    fn act(&mut self, d: &Decision) -> Action {
        let last = d.known_prices.iter().rev().find(|p| !p.is_nan()).copied();
        let f = match last {
            Some(p) if p < self.low => -1.0,
            Some(p) if p > self.high => 1.0,
            _ => 0.0,
        };
        action_for_fraction(self.space, f, d.mask)
    }
}

/// Total reward of `policy` over `day_indices`.
pub fn profit_of(
    days: &MarketDays,
    features: &MarketFeatures,
    config: &EnvConfig,
    day_indices: &[usize],
    policy: &mut dyn Policy,
) -> Result<f64, BaselineError> {
    let mut total = 0.0;
    rollout(days, features, config, day_indices, policy, |s| {
        total += s.reward_eur
    })?;
    Ok(total)
}

/// The candidate with the highest training profit (the first one on ties); `None` when there are
/// no candidates. Shared by every rule fitted by grid search.
fn best_on_training<P: Policy>(
    days: &MarketDays,
    features: &MarketFeatures,
    config: &EnvConfig,
    train: &[usize],
    candidates: impl Iterator<Item = P>,
) -> Result<Option<P>, BaselineError> {
    let mut best: Option<(f64, P)> = None;
    for mut candidate in candidates {
        let p = profit_of(days, features, config, train, &mut candidate)?;
        if best.as_ref().is_none_or(|(bp, _)| p > *bp) {
            best = Some((p, candidate));
        }
    }
    Ok(best.map(|b| b.1))
}

/// Training prices of the given days, sorted.
fn sorted_prices(days: &MarketDays, train: &[usize]) -> Vec<f64> {
    let mut v: Vec<f64> = train
        .iter()
        .flat_map(|&d| {
            days.days[d]
                .prices
                .iter()
                .map(|p| p.reference_eur_per_mwh())
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

impl ThresholdRule {
    /// Fits (low, high) by grid search over 5 %-quantiles of training prices, maximising training
    /// profit under `config`.
    pub fn fit(
        days: &MarketDays,
        features: &MarketFeatures,
        config: &EnvConfig,
        train: &[usize],
    ) -> Result<ThresholdRule, BaselineError> {
        let prices = sorted_prices(days, train);
        if prices.is_empty() {
            return Err(BaselineError::NoTrainingDays("threshold rule"));
        }
        let levels: Vec<f64> = (1..20)
            .map(|i| quantile_sorted(&prices, i as f64 / 20.0))
            .collect();
        let candidates = levels.iter().enumerate().flat_map(|(i, &low)| {
            levels[i + 1..].iter().map(move |&high| ThresholdRule {
                low,
                high,
                space: config.actions,
            })
        });
        best_on_training(days, features, config, train, candidates)?.ok_or(
            BaselineError::NothingToFit {
                what: "threshold rule",
                why: "too few distinct training prices",
            },
        )
    }
}

/// Charges in the `k` cheapest and discharges in the `k` dearest wall-clock quarter-hours of the
/// training-average price profile.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOfDaySchedule {
    /// Power fraction per Brussels wall-clock slot (96): -1, 0 or +1.
    pub plan: Vec<f64>,
    /// Slots charged (and discharged).
    pub k: usize,
    /// The action space to answer in.
    pub space: ActionSpace,
}

impl Policy for TimeOfDaySchedule {
    fn name(&self) -> String {
        format!("schedule({} charge / {} discharge slots)", self.k, self.k)
    }
    fn act(&mut self, d: &Decision) -> Action {
        action_for_fraction(self.space, self.plan[d.slot], d.mask)
    }
}

/// Mean price per wall-clock slot over the given days.
pub fn train_profile(days: &MarketDays, train: &[usize]) -> Vec<f64> {
    let mut sums = vec![(0.0, 0.0); 96];
    for &d in train {
        let day = &days.days[d];
        for (q, p) in day.prices.iter().enumerate() {
            let slot = imbarb_market::calendar::wall_clock_slot(days.qh_start(day.grid_offset + q));
            sums[slot].0 += p.reference_eur_per_mwh();
            sums[slot].1 += 1.0;
        }
    }
    sums.iter()
        .map(|(s, c)| if *c > 0.0 { s / c } else { 0.0 })
        .collect()
}

impl TimeOfDaySchedule {
    /// The schedule with `k` charge and `k` discharge slots from a price profile.
    pub fn from_profile(profile: &[f64], k: usize, space: ActionSpace) -> TimeOfDaySchedule {
        let mut order: Vec<usize> = (0..profile.len()).collect();
        order.sort_by(|&a, &b| profile[a].total_cmp(&profile[b]));
        let mut plan = vec![0.0; profile.len()];
        let k = k.min(profile.len() / 2);
        for &s in &order[..k] {
            plan[s] = -1.0;
        }
        for &s in &order[profile.len() - k..] {
            plan[s] = 1.0;
        }
        TimeOfDaySchedule { plan, k, space }
    }

    /// Fits `k` (1..=24 slots) on training profit.
    pub fn fit(
        days: &MarketDays,
        features: &MarketFeatures,
        config: &EnvConfig,
        train: &[usize],
    ) -> Result<TimeOfDaySchedule, BaselineError> {
        let profile = train_profile(days, train);
        let candidates =
            (1..=24).map(|k| TimeOfDaySchedule::from_profile(&profile, k, config.actions));
        best_on_training(days, features, config, train, candidates)?.ok_or(
            BaselineError::NothingToFit {
                what: "schedule",
                why: "no candidate schedules",
            },
        )
    }
}

/// Replays a precomputed schedule (power per quarter-hour of each day), e.g. the oracle's.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Name for reports.
    pub label: String,
    /// Power fraction per quarter-hour, per day index of the `MarketDays`.
    pub fractions: std::collections::HashMap<usize, Vec<f64>>,
    /// Discrete actions per quarter-hour (when replaying a discrete schedule exactly).
    pub discrete: std::collections::HashMap<usize, Vec<usize>>,
    /// The action space to answer in.
    pub space: ActionSpace,
}

impl Policy for Replay {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn act(&mut self, d: &Decision) -> Action {
        if let Some(a) = self.discrete.get(&d.day_index).and_then(|v| v.get(d.qh)) {
            return Action::Discrete(*a);
        }
        let f = self
            .fractions
            .get(&d.day_index)
            .and_then(|v| v.get(d.qh))
            .copied()
            .unwrap_or(0.0);
        action_for_fraction(self.space, f, d.mask)
    }
}
