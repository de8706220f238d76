//! Observations: which features an agent sees, computed only from information published before
//! each decision, and normalised with statistics of the training days only.
//!
//! Market features do not depend on the agent's actions, so they are computed once per decision
//! point (`MarketFeatures`); the battery part (SoC, cycles used and left) is appended by the
//! environment at each step.

use crate::days::{Granularity, MarketDays};
use chrono::Datelike;
use imbarb_market::calendar::{wall_clock_slot, weekday_index};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Which features to build. Defaults give a compact, useful observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ObservationConfig {
    /// Quarter-hour of the day as sin/cos.
    pub time_of_day: bool,
    /// Minute within the quarter-hour, scaled to [0, 1] (minute mode only).
    pub minute_in_qh: bool,
    /// Day of week as sin/cos.
    pub weekday: bool,
    /// Month as sin/cos.
    pub month: bool,
    /// How many of the latest final quarter-hour prices to show.
    pub last_prices: usize,
    /// The latest per-minute running estimate (minute mode only).
    pub latest_estimate: bool,
    /// How many lags of SI, NRV, MIP, MDP and alpha to show when the data has them.
    pub component_lags: usize,
    /// Windows (in quarter-hours) of rolling mean and std of final prices.
    pub rolling_windows: Vec<usize>,
    /// The training days' average price profile by Brussels wall-clock quarter-hour, for the
    /// current quarter-hour and this many - 1 after it: what the day usually looks like ahead,
    /// learnt from training days only (0 disables).
    pub profile_ahead: usize,
    /// The day-ahead price of the current quarter-hour and this many - 1 after it, each where
    /// published by the decision time (see `day_ahead_published_at`; missing: the mean). Needs
    /// a day-ahead series in the data; days without a full curve are left out (0 disables).
    pub day_ahead: usize,
    /// Windows (in quarter-hours) of the mean spread between the final imbalance price and the
    /// day-ahead price over the quarter-hours that have ended.
    pub day_ahead_spread: Vec<usize>,
    /// Brussels time on the day before at which a day's day-ahead curve is public (SDAC: about
    /// 12:45), `HH:MM`. Before it, only the current day's curve is known.
    pub day_ahead_published_at: String,
    /// Days without a complete day-ahead curve, when the observation reads it: `exclude` leaves
    /// them out of every split (named in the setup); `mean` keeps them, shows the training mean
    /// where the curve is missing and adds a `day_ahead_known` column (1 when the current
    /// quarter-hour's day-ahead price is known), so a run can learn from history that predates
    /// the curve.
    pub day_ahead_missing: DayAheadMissing,
}

/// What an observation reading the day-ahead curve does with days that lack it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DayAheadMissing {
    /// Leave such days out of every split.
    #[default]
    Exclude,
    /// Keep them: missing values show the training mean, and a column says whether the curve is
    /// known.
    Mean,
}

/// The most day-ahead quarter-hours an observation may show: two days.
pub const MAX_DAY_AHEAD_FEATURES: usize = 192;

/// The most lagged prices (or lags per system component) an observation reads: 30 days of
/// quarter-hours, the longest rolling window.
pub const MAX_LAGS: usize = 96 * 30;

impl ObservationConfig {
    /// True when any feature reads the day-ahead curve.
    pub fn uses_day_ahead(&self) -> bool {
        self.day_ahead > 0 || !self.day_ahead_spread.is_empty()
    }

    /// True when days without a complete day-ahead curve must be left out.
    pub fn excludes_days_without_day_ahead(&self) -> bool {
        self.uses_day_ahead() && self.day_ahead_missing == DayAheadMissing::Exclude
    }

    /// True when the observation carries the `day_ahead_known` column.
    fn shows_day_ahead_known(&self) -> bool {
        self.uses_day_ahead() && self.day_ahead_missing == DayAheadMissing::Mean
    }

    /// The day-ahead publication rule these features apply.
    pub fn day_ahead_rule(&self) -> Result<crate::DayAheadRule, String> {
        crate::DayAheadRule::parse(&self.day_ahead_published_at)
    }

    /// Refuses settings no observation can be built with, naming the key.
    pub fn check(&self) -> Result<(), String> {
        self.day_ahead_rule()
            .map_err(|e| format!("env.observation.{e}"))?;
        if self.day_ahead > MAX_DAY_AHEAD_FEATURES {
            return Err(format!(
                "env.observation.day_ahead = {}: expected at most {MAX_DAY_AHEAD_FEATURES} (two days)",
                self.day_ahead
            ));
        }
        // Bounds that keep a typo from building an observation of millions of columns.
        for (key, value, max) in [
            ("last_prices", self.last_prices, MAX_LAGS),
            ("component_lags", self.component_lags, MAX_LAGS),
            ("profile_ahead", self.profile_ahead, MAX_DAY_AHEAD_FEATURES),
        ] {
            if value > max {
                return Err(format!(
                    "env.observation.{key} = {value}: expected at most {max}"
                ));
            }
        }
        if let Some(w) = self
            .day_ahead_spread
            .iter()
            .chain(&self.rolling_windows)
            .find(|&&w| w == 0 || w > 96 * 30)
        {
            return Err(format!(
                "env.observation: window {w} in rolling_windows or day_ahead_spread: expected 1..=2880 quarter-hours"
            ));
        }
        Ok(())
    }
}

impl Default for ObservationConfig {
    fn default() -> Self {
        ObservationConfig {
            time_of_day: true,
            minute_in_qh: true,
            weekday: true,
            month: true,
            last_prices: 4,
            latest_estimate: true,
            component_lags: 1,
            rolling_windows: vec![4, 16, 96],
            profile_ahead: 0,
            day_ahead: 0,
            day_ahead_spread: vec![],
            day_ahead_published_at: "12:45".into(),
            day_ahead_missing: DayAheadMissing::Exclude,
        }
    }
}

/// Names of the battery features the environment appends to every observation, in order: SoC
/// as a fraction of usable energy, full equivalent cycles used today, share of today's cycle
/// budget left (1 without a cap).
pub const BATTERY_FEATURE_NAMES: [&str; 3] = ["soc", "cycles_used", "cycle_budget_left"];

/// Number of battery features appended by the environment (`BATTERY_FEATURE_NAMES`).
pub const BATTERY_FEATURES: usize = BATTERY_FEATURE_NAMES.len();

/// The battery part of an observation (`BATTERY_FEATURE_NAMES`), from the cell energy, today's
/// cell throughput and the daily throughput budget (infinite without a cap). The one definition
/// the environment, the trainer's manifest and a deployed run's policy share.
#[inline]
pub fn battery_observation(
    b: &crate::BatteryConfig,
    soc_mwh: f64,
    throughput_mwh: f64,
    budget_mwh: f64,
) -> [f32; BATTERY_FEATURES] {
    let left = if budget_mwh.is_finite() && budget_mwh > 0.0 {
        ((budget_mwh - throughput_mwh) / budget_mwh) as f32
    } else {
        1.0
    };
    [
        (soc_mwh / b.energy_mwh) as f32,
        b.cycles_of(throughput_mwh) as f32,
        left,
    ]
}

/// Normalised market features for every decision point of every day.
#[derive(Debug, Clone)]
pub struct MarketFeatures {
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// Columns.
    pub width: usize,
    /// Row of the first decision of each day.
    pub day_row: Vec<usize>,
    /// Row-major `decision points x width`, normalised, missing values 0 (the training mean).
    pub values: Vec<f32>,
    /// Per-column mean and std used for normalisation (from training days).
    pub mean: Vec<f64>,
    /// Per-column std used for normalisation.
    pub std: Vec<f64>,
    /// The price profile by wall-clock slot the `profile_ahead` columns show.
    pub profile: [f64; 96],
    /// Decisions per quarter-hour.
    pub decisions_per_qh: usize,
}

/// What a run's observations learned from its training days, and all a deployed run needs
/// besides the market data to rebuild them: per-column normalisation and the average price by
/// Brussels wall-clock slot (`profile_ahead`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureScaling {
    /// Per-column mean.
    pub mean: Vec<f64>,
    /// Per-column standard deviation (1 where it was ~0).
    pub std: Vec<f64>,
    /// Average final price per wall-clock slot over the training days (NaN: never seen).
    pub profile: [f64; 96],
}

/// A price profile as files hold it (JSON has no NaN): `None` for a slot the training days
/// never had. Written into run manifests and forecaster checkpoints.
pub fn profile_to_stored(profile: &[f64; 96]) -> Vec<Option<f64>> {
    profile
        .iter()
        .map(|p| p.is_finite().then_some(*p))
        .collect()
}

/// A stored price profile back (`profile_to_stored`'s inverse); `None` unless it has 96 slots.
pub fn profile_from_stored(stored: &[Option<f64>]) -> Option<[f64; 96]> {
    if stored.len() != 96 {
        return None;
    }
    let mut profile = [f64::NAN; 96];
    for (slot, v) in profile.iter_mut().zip(stored) {
        *slot = v.unwrap_or(f64::NAN);
    }
    Some(profile)
}

/// The part of a decision's features shared by every decision of its quarter-hour.
struct QhContext {
    g: isize,
    slot_index: usize,
    weekday: f64,
    month: f64,
    rolling: Vec<f64>,
    spread: Vec<f64>,
    /// End (exclusive grid index) of the day-ahead curve public at each minute of the
    /// quarter-hour (one entry in QH mode).
    day_ahead_known: Vec<usize>,
}

impl QhContext {
    fn new(
        days: &MarketDays,
        cfg: &ObservationConfig,
        rule: &crate::DayAheadRule,
        date: chrono::NaiveDate,
        g: usize,
        per_qh: usize,
    ) -> Self {
        let day_ahead_known = if cfg.day_ahead > 0 {
            let ends = rule.ends(days, date);
            let start = days.qh_start(g);
            (0..per_qh)
                .map(|m| ends.at(start + chrono::TimeDelta::minutes(m as i64)))
                .collect()
        } else {
            vec![]
        };
        QhContext {
            g: g as isize,
            slot_index: wall_clock_slot(days.qh_start(g)),
            weekday: f64::from(weekday_index(date)) / 7.0,
            month: f64::from(date.month0()) / 12.0,
            // Price-history features at this QH only use grid indices < g (QHs already ended).
            rolling: rolling_stats(days, g as isize, &cfg.rolling_windows),
            spread: spread_stats(days, g as isize, &cfg.day_ahead_spread),
            day_ahead_known,
        }
    }
}

/// How the features of one decision are computed: the one definition behind training,
/// backtests and a deployed run's decisions.
struct RowSpec<'a> {
    days: &'a MarketDays,
    cfg: &'a ObservationConfig,
    minute: bool,
    comps: &'a [usize],
    profile: &'a [f64; 96],
}

impl RowSpec<'_> {
    /// The raw (unnormalised) features of minute `m` of the quarter-hour `ctx` into `out`.
    fn fill(&self, ctx: &QhContext, m: usize, out: &mut [f64]) {
        let (days, cfg, g) = (self.days, self.cfg, ctx.g);
        let slot = ctx.slot_index as f64 / 96.0;
        let mut c = 0;
        let mut push = |v: f64| {
            out[c] = v;
            c += 1;
        };
        if cfg.time_of_day {
            push((TAU * slot).sin());
            push((TAU * slot).cos());
        }
        if cfg.minute_in_qh && self.minute {
            push(m as f64 / 14.0);
        }
        if cfg.weekday {
            push((TAU * ctx.weekday).sin());
            push((TAU * ctx.weekday).cos());
        }
        if cfg.month {
            push((TAU * ctx.month).sin());
            push((TAU * ctx.month).cos());
        }
        for k in 1..=cfg.last_prices as isize {
            push(grid_price(days, g - k));
        }
        if cfg.latest_estimate && self.minute {
            // Decision at minute m sees the estimate computed in minute m - 1 (for m = 0: the
            // previous quarter-hour's last minute).
            let idx = g * 15 + m as isize - 1;
            push(if idx < 0 {
                f64::NAN
            } else {
                days.minute_estimates
                    .get(idx as usize)
                    .copied()
                    .unwrap_or(f64::NAN)
            });
        }
        for &k in self.comps {
            for lag in 1..=cfg.component_lags as isize {
                let i = g - lag;
                push(if i < 0 {
                    f64::NAN
                } else {
                    days.grid_components
                        .get(i as usize)
                        .map_or(f64::NAN, |cs| cs[k])
                });
            }
        }
        for v in &ctx.rolling {
            push(*v);
        }
        for j in 0..cfg.profile_ahead {
            push(self.profile[(ctx.slot_index + j) % 96]);
        }
        if cfg.day_ahead > 0 {
            let known = ctx.day_ahead_known[m.min(ctx.day_ahead_known.len() - 1)];
            for j in 0..cfg.day_ahead {
                let h = g as usize + j;
                push(if h < known {
                    days.day_ahead_at(h)
                } else {
                    f64::NAN
                });
            }
        }
        for v in &ctx.spread {
            push(*v);
        }
        if cfg.shows_day_ahead_known() {
            push(if days.day_ahead_at(g as usize).is_nan() {
                0.0
            } else {
                1.0
            });
        }
    }
}

/// A raw feature value normalised as the observation holds it (missing: 0, the mean).
#[inline]
pub fn normalise(v: f64, mean: f64, std: f64) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        ((v - mean) / std) as f32
    }
}

/// The components (indices into `Component::ALL`) whose lags feature `names` holds: how a
/// deployed run knows which columns it was trained with.
pub fn components_in(names: &[String]) -> Vec<usize> {
    (0..7)
        .filter(|&k| {
            let lag1 = format!(
                "{}_lag_1",
                imbarb_market::Component::ALL[k].canonical_name()
            );
            names.contains(&lag1)
        })
        .collect()
}

/// The normalised market features of one decision: minute `minute` of grid quarter-hour `g`
/// (which may lie beyond the data, the quarter-hour in progress) on Brussels day `date`, from
/// `days`' grid (prices, components and running estimates published so far), with the
/// components `comps` and the run's `scaling`. Computed by the same code as `build`, so a
/// deployed run observes exactly what it did in training and backtests.
#[allow(clippy::too_many_arguments)]
pub fn decision_features(
    days: &MarketDays,
    cfg: &ObservationConfig,
    granularity: Granularity,
    comps: &[usize],
    scaling: &FeatureScaling,
    date: chrono::NaiveDate,
    g: usize,
    minute: usize,
) -> Vec<f32> {
    let spec = RowSpec {
        days,
        cfg,
        minute: granularity == Granularity::Minute,
        comps,
        profile: &scaling.profile,
    };
    let width = feature_names(cfg, spec.minute, comps).len();
    let mut raw = vec![f64::NAN; width];
    // A rule that does not parse was refused when the run's config was checked.
    let rule = cfg.day_ahead_rule().unwrap_or_default();
    let ctx = QhContext::new(days, cfg, &rule, date, g, minute + 1);
    spec.fill(&ctx, minute, &mut raw);
    raw.iter()
        .zip(scaling.mean.iter().zip(&scaling.std))
        .map(|(v, (m, s))| normalise(*v, *m, *s))
        .collect()
}

impl MarketFeatures {
    /// Every observation column's name: the market features, then the battery's.
    pub fn observation_names(&self) -> Vec<String> {
        let battery = BATTERY_FEATURE_NAMES.iter().map(|n| n.to_string());
        self.names.iter().cloned().chain(battery).collect()
    }

    /// Builds the features of every day in `days`, normalising with statistics over the days
    /// whose indices are in `train_days` (indices into `days.days`), which also give the price
    /// profile.
    pub fn build(
        days: &MarketDays,
        cfg: &ObservationConfig,
        granularity: Granularity,
        train_days: &[usize],
    ) -> Result<MarketFeatures, crate::SimError> {
        let profile = if cfg.profile_ahead > 0 {
            training_profile(days, train_days)
        } else {
            [0.0f64; 96]
        };
        let comps: Vec<usize> = (0..7).filter(|&k| days.components_present[k]).collect();
        let (names, values, day_row) = raw_features(days, cfg, granularity, &comps, &profile)?;
        let width = names.len();
        let per_qh = granularity.decisions_per_qh();
        let (mean, std) = normalisation(&values, width, days, &day_row, train_days, per_qh);
        let scaling = FeatureScaling { mean, std, profile };
        Ok(Self::normalised(names, values, day_row, scaling, per_qh))
    }

    /// Builds the features of every day in `days` with a run's own `scaling` (its training
    /// days' normalisation and profile) and components `comps`: a deployed run's view of new
    /// days, the same numbers `decision_features` gives one decision at a time.
    pub fn build_scaled(
        days: &MarketDays,
        cfg: &ObservationConfig,
        granularity: Granularity,
        comps: &[usize],
        scaling: &FeatureScaling,
    ) -> Result<MarketFeatures, crate::SimError> {
        let (names, values, day_row) =
            raw_features(days, cfg, granularity, comps, &scaling.profile)?;
        if scaling.mean.len() != names.len() || scaling.std.len() != names.len() {
            return Err(crate::SimError::FeatureWidth {
                expected: names.len(),
                got: scaling.mean.len(),
            });
        }
        let per_qh = granularity.decisions_per_qh();
        Ok(Self::normalised(
            names,
            values,
            day_row,
            scaling.clone(),
            per_qh,
        ))
    }

    fn normalised(
        names: Vec<String>,
        values: Vec<f64>,
        day_row: Vec<usize>,
        scaling: FeatureScaling,
        per_qh: usize,
    ) -> MarketFeatures {
        let width = names.len();
        let FeatureScaling { mean, std, profile } = scaling;
        let values = values
            .chunks_exact(width.max(1))
            .flat_map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(c, v)| normalise(*v, mean[c], std[c]))
            })
            .collect();
        MarketFeatures {
            names,
            width,
            day_row,
            values,
            mean,
            std,
            profile,
            decisions_per_qh: per_qh,
        }
    }

    /// Appends columns computed elsewhere (a forecaster's quantiles): `names`, then `values`
    /// row-major (one row per decision point, already normalised) and the normalisation they
    /// were given, recorded like every other column's so a deployed run can report it.
    pub fn append_columns(
        &mut self,
        names: Vec<String>,
        values: &[f32],
        mean: Vec<f64>,
        std: Vec<f64>,
    ) -> Result<(), crate::SimError> {
        let extra = names.len();
        let rows = self
            .values
            .len()
            .checked_div(self.width)
            .unwrap_or(values.len() / extra.max(1));
        if mean.len() != extra || std.len() != extra || values.len() != rows * extra {
            return Err(crate::SimError::AppendedColumns {
                expected: rows * extra,
                got: values.len(),
            });
        }
        let width = self.width + extra;
        let mut joined = Vec::with_capacity(rows * width);
        for r in 0..rows {
            joined.extend_from_slice(&self.values[r * self.width..(r + 1) * self.width]);
            joined.extend_from_slice(&values[r * extra..(r + 1) * extra]);
        }
        self.values = joined;
        self.width = width;
        self.names.extend(names);
        self.mean.extend(mean);
        self.std.extend(std);
        Ok(())
    }

    /// What these features learnt from their training days.
    pub fn scaling(&self) -> FeatureScaling {
        FeatureScaling {
            mean: self.mean.clone(),
            std: self.std.clone(),
            profile: self.profile,
        }
    }

    /// The normalised market features of decision `step` of day `day`.
    pub fn row(&self, day: usize, step: usize) -> &[f32] {
        let r = self.day_row[day] + step;
        &self.values[r * self.width..(r + 1) * self.width]
    }

    /// Observation width including the battery features.
    pub fn observation_width(&self) -> usize {
        self.width + BATTERY_FEATURES
    }
}

/// The names of the market features `cfg` asks for, in column order (`comps`: the indices of
/// the components present in the data).
fn feature_names(cfg: &ObservationConfig, minute: bool, comps: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    if cfg.time_of_day {
        names.extend(["qh_of_day_sin".into(), "qh_of_day_cos".into()]);
    }
    if cfg.minute_in_qh && minute {
        names.push("minute_in_qh".into());
    }
    if cfg.weekday {
        names.extend(["weekday_sin".into(), "weekday_cos".into()]);
    }
    if cfg.month {
        names.extend(["month_sin".into(), "month_cos".into()]);
    }
    for k in 1..=cfg.last_prices {
        names.push(format!("price_lag_{k}"));
    }
    if cfg.latest_estimate && minute {
        names.push("latest_estimate".into());
    }
    for &k in comps {
        for lag in 1..=cfg.component_lags {
            names.push(format!(
                "{}_lag_{lag}",
                imbarb_market::Component::ALL[k].canonical_name()
            ));
        }
    }
    for w in &cfg.rolling_windows {
        names.push(format!("price_mean_{w}"));
        names.push(format!("price_std_{w}"));
    }
    for j in 0..cfg.profile_ahead {
        names.push(format!("profile_ahead_{j}"));
    }
    for j in 0..cfg.day_ahead {
        names.push(format!("day_ahead_{j}"));
    }
    for w in &cfg.day_ahead_spread {
        names.push(format!("day_ahead_spread_{w}"));
    }
    if cfg.shows_day_ahead_known() {
        names.push("day_ahead_known".into());
    }
    names
}

/// Every decision's raw features over `days`: names, row-major values (NaN where missing) and
/// each day's first row.
type RawFeatures = (Vec<String>, Vec<f64>, Vec<usize>);

fn raw_features(
    days: &MarketDays,
    cfg: &ObservationConfig,
    granularity: Granularity,
    comps: &[usize],
    profile: &[f64; 96],
) -> Result<RawFeatures, crate::SimError> {
    if granularity == Granularity::Minute && !days.has_minutes() {
        return Err(crate::SimError::NotMinuteDays);
    }
    cfg.check().map_err(crate::SimError::Observation)?;
    if cfg.uses_day_ahead() && days.grid_day_ahead.is_empty() {
        return Err(crate::SimError::Observation(
            "env.observation reads the day-ahead price, but the data has none: add a day-ahead file (e.g. timestamp_utc,day_ahead_price_eur_mwh) to data.sources".into(),
        ));
    }
    let rule = cfg.day_ahead_rule().map_err(crate::SimError::Observation)?;
    let per_qh = granularity.decisions_per_qh();
    let minute = granularity == Granularity::Minute;
    let names = feature_names(cfg, minute, comps);
    let width = names.len();
    let rows: usize = days.days.iter().map(|d| d.n_qh() * per_qh).sum();
    let mut values = vec![f64::NAN; rows * width];
    let mut day_row = Vec::with_capacity(days.days.len());
    let spec = RowSpec {
        days,
        cfg,
        minute,
        comps,
        profile,
    };
    let mut row = 0;
    for day in &days.days {
        day_row.push(row);
        for q in 0..day.n_qh() {
            let ctx = QhContext::new(days, cfg, &rule, day.date, day.grid_offset + q, per_qh);
            for m in 0..per_qh {
                spec.fill(&ctx, m, &mut values[row * width..(row + 1) * width]);
                row += 1;
            }
        }
    }
    Ok((names, values, day_row))
}

/// The final price of grid quarter-hour `i` (NaN before the grid or where missing).
fn grid_price(days: &MarketDays, i: isize) -> f64 {
    if i < 0 {
        f64::NAN
    } else {
        days.grid_price.get(i as usize).copied().unwrap_or(f64::NAN)
    }
}

/// Average final price by Brussels wall-clock slot over the training days (NaN for a slot they
/// never have).
fn training_profile(days: &MarketDays, train_days: &[usize]) -> [f64; 96] {
    let mut profile = [0.0f64; 96];
    let mut count = [0.0f64; 96];
    for &d in train_days {
        let Some(day) = days.days.get(d) else {
            continue;
        };
        for q in 0..day.n_qh() {
            let g = day.grid_offset + q;
            let p = days.grid_price.get(g).copied().unwrap_or(f64::NAN);
            if !p.is_nan() {
                let slot = wall_clock_slot(days.qh_start(g)).min(95);
                profile[slot] += p;
                count[slot] += 1.0;
            }
        }
    }
    for (p, c) in profile.iter_mut().zip(count) {
        *p = if c > 0.0 { *p / c } else { f64::NAN };
    }
    profile
}

/// Mean and standard deviation of the final prices of the `w` quarter-hours before grid
/// quarter-hour `g`, for each window `w` (only quarter-hours that have ended: indices < g).
fn rolling_stats(days: &MarketDays, g: isize, windows: &[usize]) -> Vec<f64> {
    let mut rolling = Vec::with_capacity(windows.len() * 2);
    for &w in windows {
        let (mut s, mut s2, mut c) = (0.0, 0.0, 0.0);
        for k in 1..=w as isize {
            let p = grid_price(days, g - k);
            if !p.is_nan() {
                s += p;
                s2 += p * p;
                c += 1.0;
            }
        }
        if c > 0.0 {
            let m = s / c;
            rolling.push(m);
            rolling.push((s2 / c - m * m).max(0.0).sqrt());
        } else {
            rolling.extend([f64::NAN, f64::NAN]);
        }
    }
    rolling
}

/// Mean of (final price - day-ahead price) over the `w` quarter-hours before grid quarter-hour
/// `g` where both are known, for each window `w` (NaN where none).
fn spread_stats(days: &MarketDays, g: isize, windows: &[usize]) -> Vec<f64> {
    windows
        .iter()
        .map(|&w| {
            let (mut s, mut c) = (0.0, 0.0);
            for k in 1..=w as isize {
                let i = g - k;
                if i < 0 {
                    break;
                }
                let d = grid_price(days, i) - days.day_ahead_at(i as usize);
                if !d.is_nan() {
                    s += d;
                    c += 1.0;
                }
            }
            if c > 0.0 {
                s / c
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// Per column, the mean and standard deviation (1 where it is ~0) over the training days' rows
/// only, so nothing from validation or test days leaks into the observation.
fn normalisation(
    values: &[f64],
    width: usize,
    days: &MarketDays,
    day_row: &[usize],
    train_days: &[usize],
    per_qh: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; width];
    let mut std = vec![1.0; width];
    for col in 0..width {
        let (mut s, mut s2, mut c) = (0.0, 0.0, 0.0);
        for &d in train_days {
            let Some(day) = days.days.get(d) else {
                continue;
            };
            let start = day_row[d];
            for r in start..start + day.n_qh() * per_qh {
                let v = values[r * width + col];
                if !v.is_nan() {
                    s += v;
                    s2 += v * v;
                    c += 1.0;
                }
            }
        }
        if c > 0.0 {
            mean[col] = s / c;
            let sd = (s2 / c - mean[col] * mean[col]).max(0.0).sqrt();
            std[col] = if sd > 1e-9 { sd } else { 1.0 };
        }
    }
    (mean, std)
}
