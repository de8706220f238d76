//! Environments: one Brussels day is one episode; `VecEnv` steps a batch of days in lockstep with
//! struct-of-arrays state, for training (many days at once) and backtests (one day at a time,
//! SoC carried over when configured).

pub use crate::actions::{
    action_for_fraction, action_mask, fraction_to_mw, Action, ActionSpace, LevelLimits,
    ParseActionSpaceError,
};
use crate::actions::{level_allowed, level_cell_energy};
use crate::battery::{BatteryConfig, StepOutcome};
use crate::days::{Granularity, MarketDays};
use crate::error::SimError;
use crate::features::{battery_observation, MarketFeatures, ObservationConfig, BATTERY_FEATURES};
use crate::settlement::settle_legs;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Everything that defines an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnvConfig {
    /// The battery.
    pub battery: BatteryConfig,
    /// Decision granularity.
    pub granularity: Granularity,
    /// Action space.
    pub actions: ActionSpace,
    /// Observation features.
    pub observation: ObservationConfig,
    /// What a discrete level does at the battery's limits.
    pub levels_at_limits: LevelLimits,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            battery: BatteryConfig::default(),
            granularity: Granularity::Qh,
            actions: ActionSpace::default(),
            observation: ObservationConfig::default(),
            levels_at_limits: LevelLimits::Whole,
        }
    }
}

/// What a policy may know at a decision: the battery state, the normalised observation, the mask,
/// and raw published history (final prices of quarter-hours that have ended, the latest running
/// estimate). Nothing after the decision time is reachable from here.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// Brussels day.
    pub date: NaiveDate,
    /// Index of the day in the `MarketDays`.
    pub day_index: usize,
    /// Decision index within the day.
    pub step: usize,
    /// Quarter-hour index within the day.
    pub qh: usize,
    /// Minute within the quarter-hour (0 in QH mode).
    pub minute: usize,
    /// Quarter-hours in the day.
    pub n_qh: usize,
    /// Brussels wall-clock slot of the quarter-hour, 0..96.
    pub slot: usize,
    /// Cell energy, MWh.
    pub soc_mwh: f64,
    /// Full equivalent cycles used today.
    pub cycles_used: f64,
    /// Final prices of all grid quarter-hours before the current one (NaN where missing).
    pub known_prices: &'a [f64],
    /// Day-ahead prices on the grid up to what is public at the decision: the past, the rest of
    /// today, and tomorrow once its curve is published (index `known_prices.len()` is the
    /// current quarter-hour; NaN where missing; empty without day-ahead data).
    pub day_ahead_known: &'a [f64],
    /// The latest running estimate of the current quarter-hour's price (minute mode).
    pub latest_estimate: Option<f64>,
    /// Normalised observation (market features then battery features).
    pub observation: &'a [f32],
    /// Allowed discrete actions (empty for continuous actions).
    pub mask: &'a [bool],
}

impl Decision<'_> {
    /// The public day-ahead price `ahead` quarter-hours after the current one (0: the current
    /// quarter-hour), `None` where unknown or not yet published.
    pub fn day_ahead(&self, ahead: usize) -> Option<f64> {
        self.day_ahead_known
            .get(self.known_prices.len() + ahead)
            .copied()
            .filter(|v| !v.is_nan())
    }

    /// The day-ahead price of the quarter-hour `back` before the current one (1: the previous).
    pub fn day_ahead_before(&self, back: usize) -> Option<f64> {
        let i = self.known_prices.len().checked_sub(back)?;
        self.day_ahead_known.get(i).copied().filter(|v| !v.is_nan())
    }
}

/// One interface for everything that acts: agents, rules, forecasts. `act` never trains.
pub trait Policy {
    /// A short name for reports.
    fn name(&self) -> String;
    /// Chooses an action for one decision.
    fn act(&mut self, decision: &Decision) -> Action;
    /// Called before the first decision of each day.
    fn start_day(&mut self, _date: NaiveDate) {}
}

/// A batch of days stepped in lockstep, with struct-of-arrays state.
pub struct VecEnv<'a> {
    days: &'a MarketDays,
    features: &'a MarketFeatures,
    config: EnvConfig,
    duration_h: f64,
    per_qh: usize,
    budget_mwh: f64,
    day: Vec<usize>,
    /// Decisions in each env's day (cached: looked up every step).
    steps_in_day: Vec<usize>,
    soc: Vec<f64>,
    throughput: Vec<f64>,
    qh_net: Vec<f64>,
    done: Vec<bool>,
    mask: Vec<bool>,
    reward: Vec<f64>,
    outcome: Vec<StepOutcome>,
    /// Power fraction of each discrete level.
    level_fraction: Vec<f64>,
    /// Cell energy each discrete level needs in full: (out of the cells, into the cells), MWh.
    level_cell: Vec<(f64, f64)>,
    fractions: Vec<f64>,
    /// Observations of the current lockstep step, `[env][observation]`: each step copies every
    /// running env's market-feature row into this cache-resident block and writes its battery
    /// features (copying all episode rows at reset, or scattered rows into a large buffer, cost
    /// more than the steps themselves).
    obs: Vec<f32>,
    /// Long and short price of each env's quarter-hours, quarter-hour-major (`[qh][env]`).
    episode_prices: Vec<(f64, f64)>,
    /// Branch-free battery constants for this decision length.
    constants: crate::battery::StepConstants,
    /// Lockstep step counter of the batch: every env that has not finished is at decision `t`.
    t: usize,
    /// Quarter-hour and minute of decision `t` (counters instead of divisions per step).
    qh_t: usize,
    minute_t: usize,
    /// Steps of the longest day in the batch.
    max_steps: usize,
    /// When the day-ahead curve is public (from the observation config).
    day_ahead_rule: crate::DayAheadRule,
}

impl<'a> VecEnv<'a> {
    /// An environment over `days` with precomputed `features` (built with the same granularity).
    pub fn new(
        days: &'a MarketDays,
        features: &'a MarketFeatures,
        config: EnvConfig,
    ) -> Result<Self, SimError> {
        config.battery.check()?;
        if features.decisions_per_qh != config.granularity.decisions_per_qh() {
            return Err(SimError::GranularityMismatch {
                built: features.decisions_per_qh,
                wanted: config.granularity.decisions_per_qh(),
            });
        }
        config.actions.check()?;
        let day_ahead_rule = config
            .observation
            .day_ahead_rule()
            .map_err(SimError::Observation)?;
        let levels = config.actions.n();
        let duration_h = config.granularity.duration_h();
        let level_fraction: Vec<f64> = (0..levels)
            .map(|i| ActionSpace::level_fraction(i, levels))
            .collect();
        let level_cell = level_fraction
            .iter()
            .map(|f| level_cell_energy(&config.battery, *f, duration_h))
            .collect();
        Ok(VecEnv {
            days,
            features,
            level_fraction,
            level_cell,
            fractions: vec![],
            obs: vec![],
            episode_prices: vec![],
            constants: config.battery.step_constants(duration_h),
            t: 0,
            qh_t: 0,
            minute_t: 0,
            max_steps: 0,
            day_ahead_rule,
            duration_h,
            per_qh: config.granularity.decisions_per_qh(),
            budget_mwh: config.battery.daily_throughput_budget_mwh(),
            config,
            day: vec![],
            steps_in_day: vec![],
            soc: vec![],
            throughput: vec![],
            qh_net: vec![],
            done: vec![],
            mask: vec![],
            reward: vec![],
            outcome: vec![],
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// Observation width.
    pub fn observation_width(&self) -> usize {
        self.features.observation_width()
    }

    /// Number of discrete actions (0 for continuous).
    pub fn n_actions(&self) -> usize {
        self.config.actions.n()
    }

    /// Episodes run side by side since the last `reset`.
    pub fn n_envs(&self) -> usize {
        self.day.len()
    }

    /// Starts one episode per entry of `days` (indices into `MarketDays::days`) at the given cell
    /// energies (MWh).
    pub fn reset(&mut self, days: &[usize], start_soc_mwh: &[f64]) {
        assert_eq!(
            days.len(),
            start_soc_mwh.len(),
            "VecEnv::reset: one SoC per day"
        );
        let b = days.len();
        let (w, a) = (self.observation_width(), self.n_actions());
        self.day = days.to_vec();
        self.steps_in_day = days
            .iter()
            .map(|&d| self.days.days[d].n_qh() * self.per_qh)
            .collect();
        self.soc = start_soc_mwh.to_vec();
        self.throughput = vec![0.0; b];
        self.qh_net = vec![0.0; b];
        self.done = vec![false; b];
        self.mask = vec![true; b * a];
        self.reward = vec![0.0; b];
        self.outcome = vec![StepOutcome::default(); b];
        (self.t, self.qh_t, self.minute_t) = (0, 0, 0);
        self.max_steps = (0..b).map(|i| self.n_steps(i)).max().unwrap_or(0);
        self.obs.clear();
        self.obs.resize(b * w, 0.0);
        let max_qh = self.max_steps / self.per_qh;
        self.episode_prices.resize(max_qh * b, (0.0, 0.0));
        // Quarter-hour outer: the writes run sequentially (env-outer strided them by a page).
        for q in 0..max_qh {
            for (i, &d) in days.iter().enumerate() {
                self.episode_prices[q * b + i] =
                    self.days.days[d].prices.get(q).map_or((0.0, 0.0), |p| {
                        (p.long_eur_per_mwh(), p.short_eur_per_mwh())
                    });
            }
        }
        for i in 0..b {
            self.observe(i);
        }
    }

    /// Decisions in env `i`'s current day (fewer or more on daylight-saving days).
    pub fn n_steps(&self, i: usize) -> usize {
        self.steps_in_day[i]
    }

    /// Writes observation row and mask of env `i` for its current step.
    #[inline]
    fn observe(&mut self, i: usize) {
        let w = self.observation_width();
        let fw = self.features.width;
        let step = self.step_index(i).min(self.n_steps(i) - 1);
        let b = &self.config.battery;
        let out = &mut self.obs[i * w..(i + 1) * w];
        // An element loop, not copy_from_slice: rows are short and a memmove call per row cost
        // more than the copy.
        for (o, v) in out[..fw]
            .iter_mut()
            .zip(self.features.row(self.day[i], step))
        {
            *o = *v;
        }
        debug_assert_eq!(w, fw + BATTERY_FEATURES);
        out[fw..].copy_from_slice(&battery_observation(
            b,
            self.soc[i],
            self.throughput[i],
            self.budget_mwh,
        ));
        if step + 1 < self.n_steps(i) {
            prefetch(self.features.row(self.day[i], step + 1));
        }
        let a = self.n_actions();
        if a > 0 {
            // Same rule as `action_mask`, on the levels' precomputed cell energies.
            let left = self.budget_mwh - self.throughput[i];
            let room_out = (self.soc[i] - b.soc_min_mwh()).min(left);
            let room_in = (b.soc_max_mwh() - self.soc[i]).min(left);
            let limits = self.config.levels_at_limits;
            let mask = &mut self.mask[i * a..(i + 1) * a];
            let mut any = false;
            for (m, (out, inn)) in mask.iter_mut().zip(&self.level_cell) {
                *m = level_allowed(limits, *out, *inn, room_out, room_in);
                any |= *m;
            }
            if !any {
                action_mask(b, self.soc[i], left, self.duration_h, limits, mask);
            }
        }
    }

    /// Steps every env with a power fraction each (> 0 discharge); finished envs ignore theirs.
    pub fn step_fractions(&mut self, fractions: &[f64]) {
        assert_eq!(
            fractions.len(),
            self.day.len(),
            "VecEnv::step: one action per env"
        );
        let b = self.config.battery;
        let k = self.constants;
        let batch = self.day.len();
        let (soc_min, soc_max) = (b.soc_min_mwh(), b.soc_max_mwh());
        let prices = &self.episode_prices[self.qh_t * batch..(self.qh_t + 1) * batch];
        for (i, &fraction) in fractions.iter().enumerate() {
            if self.done[i] {
                self.reward[i] = 0.0;
                self.outcome[i] = StepOutcome::default();
                continue;
            }
            let requested = fraction_to_mw(&b, fraction);
            let left = self.budget_mwh - self.throughput[i];
            let o = crate::battery::step_fast(&k, self.soc[i], left, requested);
            self.soc[i] = (self.soc[i] + o.cell_in_mwh - o.cell_out_mwh).clamp(soc_min, soc_max);
            let cell = o.cell_in_mwh + o.cell_out_mwh;
            self.throughput[i] += cell;
            let (long, short) = prices[i];
            let before = self.qh_net[i];
            let after = before + o.grid_energy_mwh;
            self.reward[i] = settle_legs(long, short, after)
                - settle_legs(long, short, before)
                - b.degradation_eur_per_mwh * cell;
            self.qh_net[i] = after;
            self.outcome[i] = o;
        }
        self.t += 1;
        self.minute_t += 1;
        if self.minute_t == self.per_qh {
            self.minute_t = 0;
            self.qh_t += 1;
            self.qh_net.fill(0.0);
        }
        let w = self.observation_width();
        for i in 0..batch {
            if self.done[i] {
                continue;
            }
            if self.t >= self.steps_in_day[i] {
                self.done[i] = true;
                self.obs[i * w..(i + 1) * w].fill(0.0);
            } else {
                self.observe(i);
            }
        }
    }

    /// Steps every env with a discrete action index each.
    pub fn step_discrete(&mut self, actions: &[usize]) {
        let mut fractions = std::mem::take(&mut self.fractions);
        fractions.clear();
        let top = self.level_fraction.len().saturating_sub(1);
        fractions.extend(
            actions
                .iter()
                .map(|&a| self.level_fraction.get(a.min(top)).copied().unwrap_or(0.0)),
        );
        self.step_fractions(&fractions);
        self.fractions = fractions;
    }

    /// Steps with policy actions of either kind.
    pub fn step_actions(&mut self, actions: &[Action]) {
        let levels = self.n_actions().max(2);
        let mut fractions = std::mem::take(&mut self.fractions);
        fractions.clear();
        fractions.extend(actions.iter().map(|a| match *a {
            Action::Discrete(i) => ActionSpace::level_fraction(i.min(levels - 1), levels),
            Action::Continuous(f) => f,
        }));
        self.step_fractions(&fractions);
        self.fractions = fractions;
    }

    /// Observations of the current lockstep step, `batch x observation_width` (rows of envs
    /// whose day has ended are zero).
    pub fn observations(&self) -> &[f32] {
        &self.obs
    }

    /// Action masks, `batch x n_actions`.
    pub fn masks(&self) -> &[bool] {
        &self.mask
    }

    /// Rewards of the last step (EUR).
    pub fn rewards(&self) -> &[f64] {
        &self.reward
    }

    /// Battery outcomes of the last step.
    pub fn outcomes(&self) -> &[StepOutcome] {
        &self.outcome
    }

    /// Which envs have finished their day.
    pub fn dones(&self) -> &[bool] {
        &self.done
    }

    /// True when every env has finished.
    pub fn all_done(&self) -> bool {
        self.done.iter().all(|d| *d)
    }

    /// Cell energy of env `i`, MWh.
    pub fn soc_mwh(&self, i: usize) -> f64 {
        self.soc[i]
    }

    /// Cycles used today by env `i`.
    pub fn cycles_used(&self, i: usize) -> f64 {
        self.config.battery.cycles_of(self.throughput[i])
    }

    /// Current decision index of env `i` within its day.
    pub fn step_index(&self, i: usize) -> usize {
        self.t.min(self.steps_in_day[i])
    }

    /// What a policy may know about env `i`'s current decision.
    pub fn decision(&self, i: usize) -> Decision<'_> {
        let day = &self.days.days[self.day[i]];
        let step = self.step_index(i).min(self.n_steps(i) - 1);
        let (q, m) = (step / self.per_qh, step % self.per_qh);
        let g = day.grid_offset + q;
        let w = self.observation_width();
        let a = self.n_actions();
        let latest_estimate = (self.per_qh > 1)
            .then(|| {
                let idx = (g * 15 + m).checked_sub(1)?;
                self.days
                    .minute_estimates
                    .get(idx)
                    .copied()
                    .filter(|v| !v.is_nan())
            })
            .flatten();
        let day_ahead_known = if self.days.grid_day_ahead.is_empty() {
            &[][..]
        } else {
            let now = self.days.qh_start(g) + chrono::TimeDelta::minutes(m as i64);
            let end = self
                .day_ahead_rule
                .ends(self.days, day.date)
                .at(now)
                .min(self.days.grid_day_ahead.len());
            &self.days.grid_day_ahead[..end]
        };
        Decision {
            date: day.date,
            day_index: self.day[i],
            step,
            qh: q,
            minute: m,
            n_qh: day.n_qh(),
            slot: imbarb_market::calendar::wall_clock_slot(self.days.qh_start(g)),
            soc_mwh: self.soc[i],
            cycles_used: self.cycles_used(i),
            known_prices: &self.days.grid_price[..g],
            day_ahead_known,
            latest_estimate,
            observation: &self.obs[i * w..(i + 1) * w],
            mask: &self.mask[i * a..(i + 1) * a],
        }
    }
}

/// Asks the CPU to fetch `row` into cache: each env reads the next feature row of its own day at
/// the next step, 256 interleaved streams that the hardware prefetcher does not follow, and the
/// loads' cache misses dominated the step. Written by hand: no crate offers a portable prefetch,
/// and it is a hint with no effect on results.
#[inline(always)]
fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Every 64-byte line the row touches: from its first element in steps of 16 f32, and
        // its last element (a row may start mid-line).
        let last = row.len().saturating_sub(1);
        for k in (0..row.len()).step_by(16).chain(std::iter::once(last)) {
            if let Some(v) = row.get(k) {
                // SAFETY: prefetching is a hint; the pointer is in bounds and never dereferenced.
                unsafe { _mm_prefetch::<_MM_HINT_T0>((v as *const f32).cast()) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// One executed decision, as a backtest sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRecord {
    /// Index of the day in the `MarketDays`.
    pub day_index: usize,
    /// Brussels day.
    pub date: NaiveDate,
    /// Decision index within the day.
    pub step: usize,
    /// Quarter-hour index within the day.
    pub qh: usize,
    /// Minute within the quarter-hour (0 in QH mode).
    pub minute: usize,
    /// What the policy asked for.
    pub action: Action,
    /// What the battery did.
    pub outcome: StepOutcome,
    /// Settlement increment minus degradation, EUR.
    pub reward_eur: f64,
    /// Cell energy after the step, MWh.
    pub soc_after_mwh: f64,
    /// Cycles used today after the step.
    pub cycles_after: f64,
}

/// Runs `policy` over the days `day_indices` (chronological), one day at a time. SoC carries over
/// between consecutive calendar days when the battery says so, and restarts at the first-day SoC
/// after a gap. `on_step` sees every executed decision.
pub fn rollout(
    days: &MarketDays,
    features: &MarketFeatures,
    config: &EnvConfig,
    day_indices: &[usize],
    policy: &mut dyn Policy,
    mut on_step: impl FnMut(&StepRecord),
) -> Result<(), SimError> {
    let mut env = VecEnv::new(days, features, config.clone())?;
    let mut previous: Option<(NaiveDate, f64)> = None;
    for &d in day_indices {
        let date = days.days.get(d).ok_or(SimError::DayOutOfRange(d))?.date;
        let carried = match previous {
            Some((p, soc)) if p.succ_opt() == Some(date) => Some(soc),
            _ => None,
        };
        env.reset(&[d], &[config.battery.day_start_soc_mwh(carried)]);
        policy.start_day(date);
        while !env.all_done() {
            let (action, step, qh, minute) = {
                let decision = env.decision(0);
                (
                    policy.act(&decision),
                    decision.step,
                    decision.qh,
                    decision.minute,
                )
            };
            env.step_actions(&[action]);
            on_step(&StepRecord {
                day_index: d,
                date,
                step,
                qh,
                minute,
                action,
                outcome: env.outcomes()[0],
                reward_eur: env.rewards()[0],
                soc_after_mwh: env.soc_mwh(0),
                cycles_after: env.cycles_used(0),
            });
        }
        previous = Some((date, env.soc_mwh(0)));
    }
    Ok(())
}
