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

/// What a threshold rule compares with its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSignal {
    /// The last known final imbalance price.
    LastPrice,
    /// The day-ahead price of the current quarter-hour (idle where unknown).
    DayAhead,
    /// The last final price moved by the day-ahead curve's step into the current quarter-hour:
    /// the last imbalance spread to day-ahead, persisted (idle where the curve is unknown).
    LastPlusDayAheadStep,
}

impl RuleSignal {
    /// The signal from what a decision knows: the last final price, and the day-ahead price of
    /// the current and of the previous quarter-hour. The one formula behind `at` and `on_grid`.
    fn of_parts(
        self,
        last: Option<f64>,
        day_ahead: Option<f64>,
        day_ahead_before: Option<f64>,
    ) -> Option<f64> {
        match self {
            RuleSignal::LastPrice => last,
            RuleSignal::DayAhead => day_ahead,
            RuleSignal::LastPlusDayAheadStep => Some(last? + day_ahead? - day_ahead_before?),
        }
    }

    /// The signal at a decision, `None` when it cannot be read.
    pub fn at(self, d: &Decision) -> Option<f64> {
        let last = d.known_prices.iter().rev().find(|p| !p.is_nan()).copied();
        self.of_parts(last, d.day_ahead(0), d.day_ahead_before(1))
    }

    /// The signal at grid quarter-hour `g` of `days`, as a decision there reads it (final prices
    /// before `g`, the day-ahead curve at `g`, which is public at its own day's start).
    fn on_grid(self, days: &MarketDays, g: usize) -> Option<f64> {
        let known = |i: usize| Some(days.day_ahead_at(i)).filter(|v| !v.is_nan());
        let last = days.grid_price[..g]
            .iter()
            .rev()
            .find(|p| !p.is_nan())
            .copied();
        let before = g.checked_sub(1).and_then(known);
        self.of_parts(last, known(g), before)
    }

    fn label(self) -> &'static str {
        match self {
            RuleSignal::LastPrice => "last price",
            RuleSignal::DayAhead => "day-ahead",
            RuleSignal::LastPlusDayAheadStep => "last price + day-ahead step",
        }
    }
}

/// Charge at full power when the signal (by default the last known final price) is below
/// `low`, discharge when above `high`, otherwise idle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdRule {
    /// Charge below this price, EUR/MWh.
    pub low: f64,
    /// Discharge above this price, EUR/MWh.
    pub high: f64,
    /// The action space to answer in.
    pub space: ActionSpace,
    /// What is compared with the thresholds.
    pub signal: RuleSignal,
}

impl Policy for ThresholdRule {
    fn name(&self) -> String {
        format!(
            "threshold({}: <{:.0} charge, >{:.0} discharge)",
            self.signal.label(),
            self.low,
            self.high
        )
    }
    fn act(&mut self, d: &Decision) -> Action {
        let f = match self.signal.at(d) {
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
    /// Fits the signal and (low, high) by grid search over 5 %-quantiles of the signal's
    /// training values, maximising training profit under `config`. The day-ahead signals
    /// compete only when the training days have a day-ahead curve.
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
        let total: usize = train.iter().map(|&d| days.days[d].n_qh()).sum();
        let mut candidates = vec![];
        for signal in [
            RuleSignal::LastPrice,
            RuleSignal::DayAhead,
            RuleSignal::LastPlusDayAheadStep,
        ] {
            // The last-price rule's levels are the training prices' own quantiles.
            let mut values: Vec<f64> = if signal == RuleSignal::LastPrice {
                prices.clone()
            } else {
                train
                    .iter()
                    .flat_map(|&d| {
                        let day = &days.days[d];
                        (day.grid_offset..day.grid_offset + day.n_qh())
                            .filter_map(move |g| signal.on_grid(days, g))
                    })
                    .collect()
            };
            // A signal seen on fewer than half the training quarter-hours is not a rule.
            if values.len() * 2 < total {
                continue;
            }
            values.sort_by(f64::total_cmp);
            let levels: Vec<f64> = (1..20)
                .map(|i| quantile_sorted(&values, i as f64 / 20.0))
                .collect();
            for (i, &low) in levels.iter().enumerate() {
                for &high in &levels[i + 1..] {
                    candidates.push(ThresholdRule {
                        low,
                        high,
                        space: config.actions,
                        signal,
                    });
                }
            }
        }
        best_on_training(days, features, config, train, candidates.into_iter())?.ok_or(
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
