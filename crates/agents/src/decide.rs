//! Deciding now: a trained run's action for the next decision time from the market data
//! published so far and the battery's measured state. It observes through the same feature code
//! as training and backtests (`imbarb_sim::decision_features`, with the run's recorded
//! normalisation and price profile), so a decision taken here is the decision a backtest takes
//! at the same moment; what it cannot see (a gap in the price lags, stale data, a state outside
//! the battery's limits, another market) it refuses instead of guessing.

use crate::trainer::{load_best, Manifest};
use crate::value::ValueAgent;
use chrono::{DateTime, TimeDelta, Utc};
use imbarb_market::calendar::{local_day, minute_within_qh};
use imbarb_market::{MarketData, MinuteRecord, QhRecord};
use imbarb_plan::QuantileModel;
use imbarb_sim::{
    action_mask, battery_observation, components_in, decision_features, Action, ActionSpace,
    FeatureScaling, Granularity, MarketDays,
};
use serde::Serialize;
use std::path::Path;

/// The version of `Decided`'s JSON: bumped whenever a field changes meaning or goes.
pub const DECISION_SCHEMA: u32 = 1;

/// Why no decision could be made.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The run cannot be loaded or cannot decide (corrupt checkpoint, an older manifest).
    #[error("run {dir}: {message}")]
    Run {
        /// The run directory.
        dir: String,
        /// What is wrong.
        message: String,
    },
    /// The data does not allow this decision.
    #[error("{0}")]
    Data(String),
    /// The battery state is outside the run's battery.
    #[error("{0}")]
    State(String),
}

/// The battery as measured at the decision time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatteryState {
    /// Energy in the cells, MWh.
    pub soc_mwh: f64,
    /// Full equivalent cycles used since Brussels midnight.
    pub cycles_used: f64,
}

/// One action's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ActionScore {
    /// The level index (discrete runs); `None` for the continuous greedy action.
    pub level: Option<usize>,
    /// The grid power it requests, MW (> 0 discharge).
    pub power_mw: f64,
    /// Whether the battery allows it now (SoC and cycle budget).
    pub allowed: bool,
    /// The number the action is chosen by: for value agents the run's risk measure of the
    /// return, EUR; for actor-critics the policy's preference (a logit).
    pub score: f64,
    /// Actor-critics on levels: the policy's probability of the action (softmax of the allowed
    /// actions' preferences).
    pub probability: Option<f64>,
    /// Mean return of the action's distribution, EUR (when the agent has one).
    pub mean_eur: Option<f64>,
    /// Quantiles of the return distribution at 5, 25, 50, 75, 95 %, EUR.
    pub quantiles_eur: Vec<(f64, f64)>,
}

/// Who decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunIdentity {
    /// The run directory.
    pub dir: String,
    /// Algorithm.
    pub algo: String,
    /// SHA-256 of the run's manifest.json.
    pub manifest_sha256: String,
    /// The code version that trained it.
    pub code_version: String,
}

/// A decision, for people (`Display`) and programs (JSON, schema `DECISION_SCHEMA`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decided {
    /// `DECISION_SCHEMA`.
    pub schema: u32,
    /// The decision time (start of the quarter-hour or minute the set-point holds for), UTC.
    pub at: DateTime<Utc>,
    /// `qh` or `minute`.
    pub granularity: String,
    /// The chosen level (discrete runs).
    pub level: Option<usize>,
    /// The chosen power as a fraction of rated power (> 0 discharge).
    pub fraction: f64,
    /// The set-point, MW (> 0 discharge: the BRP is long and earns the price).
    pub power_mw: f64,
    /// Every action's evaluation (discrete runs), or the greedy one (continuous).
    pub scores: Vec<ActionScore>,
    /// End of the newest data used (its publication time at the earliest), UTC.
    pub latest_data_utc: DateTime<Utc>,
    /// Seconds between it and the decision time.
    pub data_age_s: i64,
    /// The battery state decided on.
    pub state: BatteryState,
    /// Full equivalent cycles left today (`None` without a cap).
    pub cycles_left: Option<f64>,
    /// System components the run observes that the data lacks for the lags it reads (fed as
    /// the training mean, as in backtests).
    pub missing_components: Vec<String>,
    /// The run.
    pub run: RunIdentity,
}

/// A trained run, ready to decide.
pub struct Decider {
    agent: Box<dyn ValueAgent>,
    /// The forecaster the run observes through, with the columns it shows.
    forecast: Option<(imbarb_plan::ForecastFeatures, imbarb_plan::Forecaster)>,
    manifest: Manifest,
    scaling: FeatureScaling,
    comps: Vec<usize>,
    identity: RunIdentity,
    /// The oldest the newest data may be at a decision time.
    pub max_age: TimeDelta,
}

impl Decider {
    /// Loads the deployed network of the run in `dir` (checksums verified).
    pub fn load(dir: &Path) -> Result<Decider, DecideError> {
        let run_err = |message: String| DecideError::Run {
            dir: dir.display().to_string(),
            message,
        };
        let (agent, manifest) = load_best(dir).map_err(|e| run_err(e.to_string()))?;
        let scaling = manifest.scaling().ok_or_else(|| {
            run_err("its manifest lacks the price profile its observation shows (trained before profiles were recorded); retrain it to deploy it".into())
        })?;
        let bytes = std::fs::read(dir.join("manifest.json")).map_err(|e| run_err(e.to_string()))?;
        let identity = RunIdentity {
            dir: dir.display().to_string(),
            algo: manifest.algo.clone(),
            manifest_sha256: sha256_hex(&bytes),
            code_version: manifest.code_version.clone(),
        };
        let granularity = manifest.config.env.granularity;
        let forecast = match (&manifest.config.forecast_features, manifest.forecaster(dir)) {
            (Some(spec), Ok(Some(f))) => Some((spec.clone(), f)),
            (_, Err(e)) => return Err(run_err(e.to_string())),
            _ => None,
        };
        Ok(Decider {
            agent,
            forecast,
            comps: components_in(&manifest.feature_names),
            scaling,
            identity,
            max_age: match granularity {
                Granularity::Qh => TimeDelta::minutes(30),
                Granularity::Minute => TimeDelta::minutes(5),
            },
            manifest,
        })
    }

    /// The run's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Days of market history a decision needs: yesterday's prices for the lags, and the
    /// window a plan over the rolling MPC refits on.
    pub fn history_days(&self) -> u32 {
        let plan = self
            .forecast
            .as_ref()
            .map_or(0, |(spec, _)| spec.history_days());
        2.max(plan + 1)
    }

    /// The run's identity, as decisions report it.
    pub fn identity(&self) -> &RunIdentity {
        &self.identity
    }

    /// The end of the newest data in `market` published before `at` (its age decides whether
    /// it may still be acted on).
    pub fn next_decision_time_before(
        &self,
        market: &MarketData,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let (qh, minutes) = market.published_counts(at);
        self.data_end(&market.qh[..qh], &market.minutes[..minutes])
    }

    /// The decision time after the newest data in `market`: the next quarter-hour (or minute)
    /// to start once it was published.
    pub fn next_decision_time(&self, market: &MarketData) -> Option<DateTime<Utc>> {
        self.data_end(&market.qh, &market.minutes)
    }

    /// The end of the newest of these (chronological) rows the run reads.
    fn data_end(&self, qh: &[QhRecord], minutes: &[MinuteRecord]) -> Option<DateTime<Utc>> {
        let qh_end = qh.last().map(|r| r.start_utc + TimeDelta::minutes(15));
        match self.manifest.config.env.granularity {
            Granularity::Qh => qh_end,
            Granularity::Minute => minutes
                .last()
                .map(|m| m.minute_utc + TimeDelta::minutes(1))
                .or(qh_end),
        }
    }

    /// The action at `at` (default: `next_decision_time`) from what `market` had published
    /// before `at` (rows published later are ignored), with the battery in `state`.
    pub fn decide(
        &mut self,
        market: &MarketData,
        state: BatteryState,
        at: Option<DateTime<Utc>>,
    ) -> Result<Decided, DecideError> {
        let config = self.manifest.config.clone();
        let granularity = config.env.granularity;
        let at = match at {
            Some(t) => t,
            None => self
                .next_decision_time(market)
                .ok_or_else(|| DecideError::Data("the data holds no quarter-hour prices".into()))?,
        };
        let step = TimeDelta::minutes(match granularity {
            Granularity::Qh => 15,
            Granularity::Minute => 1,
        });
        if at.timestamp() % step.num_seconds() != 0 || at.timestamp_subsec_nanos() != 0 {
            return Err(DecideError::Data(format!(
                "decision time {at} is not the start of a {}",
                if granularity == Granularity::Qh {
                    "quarter-hour"
                } else {
                    "minute"
                }
            )));
        }
        if let Some(m) = &self.manifest.market {
            let data_market = format!("{:?}", market.meta.market);
            if *m != data_market {
                return Err(DecideError::Data(format!(
                    "the run was trained on the {m} market, the data is {data_market}"
                )));
            }
        }
        let published = market.published_before(at);
        let mut grid = Grid::new(&published, at, granularity)?;
        let latest = grid.latest;
        if at - latest > self.max_age {
            return Err(DecideError::Data(format!(
                "the newest data ends at {latest}, {} min before the decision time {at} (at most {} min allowed)",
                (at - latest).num_minutes(),
                self.max_age.num_minutes()
            )));
        }
        let obs_cfg = &config.env.observation;
        let g = grid.g;
        // The forecaster may read further back than the run's own lags.
        let lags = self
            .forecast
            .as_ref()
            .map_or(0, |(_, f)| f.observation().last_prices);
        for k in 1..=obs_cfg.last_prices.max(lags) {
            if g < k || grid.days.grid_price[g - k].is_nan() {
                let t = at - TimeDelta::minutes(15 * k as i64);
                return Err(DecideError::Data(format!(
                    "a gap in the price lags the run reads: no final price for the quarter-hour before {t} (lag {k})"
                )));
            }
        }
        // A run (or its forecaster) that never saw a day without the curve does not decide
        // without it: backtests leave such days out.
        let forecaster_obs = self.forecast.as_ref().map(|(_, f)| f.observation());
        let needs_curve = std::iter::once(obs_cfg)
            .chain(forecaster_obs)
            .any(|o| o.day_ahead > 0 && o.excludes_days_without_day_ahead());
        if needs_curve && grid.days.day_ahead_at(g).is_nan() {
            return Err(DecideError::Data(format!(
                "no day-ahead price for the quarter-hour at {at}: the run reads the day-ahead curve and was trained without days that lack it (env.observation.day_ahead_missing = \"exclude\")"
            )));
        }
        let minute = minute_within_qh(at) as usize;
        if granularity == Granularity::Minute && obs_cfg.latest_estimate {
            let idx = (g * 15 + minute).checked_sub(1);
            if idx
                .and_then(|i| grid.days.minute_estimates.get(i))
                .is_none_or(|v| v.is_nan())
            {
                return Err(DecideError::Data(format!(
                    "no running estimate for the minute before {at}: the run reads the latest one"
                )));
            }
        }
        let missing_components = self
            .comps
            .iter()
            .filter(|&&k| {
                (1..=obs_cfg.component_lags)
                    .any(|lag| g < lag || grid.days.grid_components[g - lag][k].is_nan())
            })
            .map(|&k| {
                imbarb_market::Component::ALL[k]
                    .canonical_name()
                    .to_string()
            })
            .collect();
        let b = &config.env.battery;
        check_state(b, state)?;
        let throughput = state.cycles_used * 2.0 * b.energy_mwh;
        let budget = b.daily_throughput_budget_mwh();
        let date = local_day(grid.days.qh_start(g));
        let mut obs = decision_features(
            &grid.days,
            obs_cfg,
            granularity,
            &self.comps,
            &self.scaling,
            date,
            g,
            minute,
        );
        if let Some((spec, forecaster)) = &self.forecast {
            // A plan over the rolling MPC refits on the complete days of its window.
            let window = complete_days_before(&published, date, spec.history_days())?;
            let kept = std::mem::replace(&mut grid.days.days, window);
            let columns = spec
                .decision(forecaster, &grid.days, &config.env.battery, date, g)
                .map_err(|e| DecideError::Data(e.to_string()));
            grid.days.days = kept;
            obs.extend_from_slice(&columns?);
        }
        obs.extend_from_slice(&battery_observation(b, state.soc_mwh, throughput, budget));
        let levels = config.n_actions();
        let mut mask = vec![false; levels];
        action_mask(
            b,
            state.soc_mwh,
            budget - throughput,
            granularity.duration_h(),
            config.env.levels_at_limits,
            &mut mask,
        );
        let mut actions = vec![];
        self.agent.act(&obs, &mask, 1, &mut actions);
        let b = *b;
        // The environment's own conversion, so a set-point is the backtest's power exactly.
        let power_of = |fraction: f64| imbarb_sim::actions::fraction_to_mw(&b, fraction);
        let (level, fraction) = match actions.first() {
            Some(Action::Discrete(i)) => (Some(*i), ActionSpace::level_fraction(*i, levels)),
            Some(Action::Continuous(f)) => (None, *f),
            None => return Err(DecideError::Data("the agent returned no action".into())),
        };
        let scores = self.scores(&obs, &mask, level, fraction, &power_of);
        Ok(Decided {
            schema: DECISION_SCHEMA,
            at,
            granularity: granularity.to_string(),
            level,
            fraction,
            power_mw: power_of(fraction),
            scores,
            latest_data_utc: latest,
            data_age_s: (at - latest).num_seconds(),
            state,
            cycles_left: b.cycles_per_day.map(|c| (c - state.cycles_used).max(0.0)),
            missing_components,
            run: self.identity.clone(),
        })
    }

    /// Every action's score and return distribution (the greedy one for continuous runs).
    fn scores(
        &mut self,
        obs: &[f32],
        mask: &[bool],
        level: Option<usize>,
        fraction: f64,
        power_of: &dyn Fn(f64) -> f64,
    ) -> Vec<ActionScore> {
        let mut raw = vec![];
        self.agent.scores(obs, 1, &mut raw);
        // Value agents score in scaled reward units: back to EUR.
        let config = &self.manifest.config;
        if !matches!(config.algo, crate::Algo::Sac | crate::Algo::Dsac) {
            let scale = f64::from(config.training.reward_scale);
            raw.iter_mut().for_each(|s| *s /= scale);
        }
        let dists = self.agent.distributions(obs);
        let levels = mask.len();
        let describe = |i: usize| {
            dists.get(i).map_or((None, vec![]), |d| {
                let qs = [0.05, 0.25, 0.5, 0.75, 0.95]
                    .map(|u| (u, d.quantile(u)))
                    .to_vec();
                (Some(d.mean()), qs)
            })
        };
        if level.is_none() {
            let (mean_eur, quantiles_eur) = describe(0);
            return vec![ActionScore {
                level: None,
                power_mw: power_of(fraction),
                allowed: true,
                score: raw.first().copied().unwrap_or(f64::NAN),
                probability: None,
                mean_eur,
                quantiles_eur,
            }];
        }
        let actor_critic = matches!(config.algo, crate::Algo::Sac | crate::Algo::Dsac);
        let allowed_max = (0..levels)
            .filter(|&i| mask[i])
            .map(|i| raw.get(i).copied().unwrap_or(f64::NEG_INFINITY))
            .fold(f64::NEG_INFINITY, f64::max);
        let weight = |i: usize| {
            if mask[i] {
                (raw.get(i).copied().unwrap_or(f64::NEG_INFINITY) - allowed_max).exp()
            } else {
                0.0
            }
        };
        let total: f64 = (0..levels).map(weight).sum();
        (0..levels)
            .map(|i| {
                let (mean_eur, quantiles_eur) = describe(i);
                ActionScore {
                    level: Some(i),
                    power_mw: power_of(ActionSpace::level_fraction(i, levels)),
                    allowed: mask[i],
                    score: raw.get(i).copied().unwrap_or(f64::NAN),
                    probability: (actor_critic && total > 0.0).then(|| weight(i) / total),
                    mean_eur,
                    quantiles_eur,
                }
            })
            .collect()
    }
}

/// Refuses a state the battery cannot be in.
fn check_state(b: &imbarb_sim::BatteryConfig, s: BatteryState) -> Result<(), DecideError> {
    let tol = 1e-9 * b.energy_mwh.max(1.0);
    if !(s.soc_mwh.is_finite()
        && s.soc_mwh >= b.soc_min_mwh() - tol
        && s.soc_mwh <= b.soc_max_mwh() + tol)
    {
        return Err(DecideError::State(format!(
            "--soc-mwh = {}: the run's battery holds {} to {} MWh",
            s.soc_mwh,
            b.soc_min_mwh(),
            b.soc_max_mwh()
        )));
    }
    let cap = b.cycles_per_day.unwrap_or(f64::INFINITY);
    if !(s.cycles_used.is_finite() && s.cycles_used >= 0.0 && s.cycles_used <= cap + 1e-9) {
        return Err(DecideError::State(format!(
            "--cycles-used = {}: expected 0 to {} full equivalent cycles today",
            s.cycles_used, cap
        )));
    }
    Ok(())
}

/// The price grid a decision reads: every published quarter-hour up to the one in progress.
struct Grid {
    days: MarketDays,
    /// Grid index of the decision's quarter-hour.
    g: usize,
    /// End of the newest published data.
    latest: DateTime<Utc>,
}

/// The complete days of `published` among the `window_days` before `date`, arranged on the
/// same grid as `Grid::new`'s (none for a window of no day).
fn complete_days_before(
    published: &MarketData,
    date: chrono::NaiveDate,
    window_days: u32,
) -> Result<Vec<imbarb_sim::Day>, DecideError> {
    if window_days == 0 {
        return Ok(vec![]);
    }
    let first = date - TimeDelta::days(i64::from(window_days));
    let dates: Vec<chrono::NaiveDate> = imbarb_market::Coverage::of(published)
        .complete_days
        .into_iter()
        .filter(|d| (first..date).contains(d))
        .collect();
    let days = MarketDays::new(published, &dates, Granularity::Qh, 0)
        .map_err(|e| DecideError::Data(format!("the days before {date}: {e}")))?;
    Ok(days.days)
}

impl Grid {
    fn new(
        data: &MarketData,
        at: DateTime<Utc>,
        granularity: Granularity,
    ) -> Result<Grid, DecideError> {
        let mut days = MarketDays::new(data, &[], Granularity::Qh, 0).map_err(|e| {
            DecideError::Data(format!("no quarter-hour price published before {at}: {e}"))
        })?;
        let qh_start = at - TimeDelta::seconds(at.timestamp().rem_euclid(900));
        let g = ((qh_start - days.grid_start).num_seconds() / 900) as usize;
        let n = days.grid_price.len().max(g + 1);
        days.grid_price.resize(n, f64::NAN);
        days.grid_components.resize(n, [f64::NAN; 7]);
        let mut latest = data
            .qh
            .last()
            .map_or(days.grid_start, |r| r.start_utc + TimeDelta::minutes(15));
        if granularity == Granularity::Minute {
            // Published estimates only: never the surrogate a backtest draws for missing ones.
            days.minute_estimates = days.published_estimates(data, n).0;
            let in_grid = days.grid_start + TimeDelta::minutes(15 * n as i64);
            if let Some(end) = data
                .minutes
                .iter()
                .filter(|m| m.price_estimate_eur_per_mwh.is_some())
                .filter(|m| m.qh_start_utc >= days.grid_start && m.qh_start_utc < in_grid)
                .map(|m| m.minute_utc + TimeDelta::minutes(1))
                .max()
            {
                latest = latest.max(end);
            }
        }
        Ok(Grid { days, g, latest })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl std::fmt::Display for Decided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.level {
            Some(l) => format!("level {l}, "),
            None => String::new(),
        };
        let verb = if self.power_mw > 0.0 {
            "discharge"
        } else if self.power_mw < 0.0 {
            "charge"
        } else {
            "idle"
        };
        writeln!(
            f,
            "decision for {} ({}): {verb} {:.3} MW ({what}{:+.3} of rated power)",
            self.at,
            self.granularity,
            self.power_mw.abs(),
            self.fraction
        )?;
        writeln!(
            f,
            "data up to {} ({} s old); battery {:.3} MWh, {:.3} cycles used today{}",
            self.latest_data_utc,
            self.data_age_s,
            self.state.soc_mwh,
            self.state.cycles_used,
            self.cycles_left
                .map_or(String::new(), |c| format!(", {c:.3} left"))
        )?;
        for s in &self.scores {
            let name = s.level.map_or("greedy".into(), |l| format!("level {l}"));
            let chosen = if s.level == self.level {
                " <- chosen"
            } else {
                ""
            };
            let probability = s
                .probability
                .map_or(String::new(), |p| format!(" p {:.2}", p));
            let dist = match (s.mean_eur, s.quantiles_eur.as_slice()) {
                (Some(m), [q05, _, q50, _, q95]) => format!(
                    " mean {m:.1} EUR, median {:.1}, 5-95 % [{:.1}, {:.1}]",
                    q50.1, q05.1, q95.1
                ),
                _ => String::new(),
            };
            writeln!(
                f,
                "  {name:>8} {:+8.3} MW {} score {:.3}{probability}{dist}{chosen}",
                s.power_mw,
                if s.allowed { "allowed  " } else { "forbidden" },
                s.score
            )?;
        }
        if !self.missing_components.is_empty() {
            writeln!(
                f,
                "missing components (fed as the training mean): {}",
                self.missing_components.join(", ")
            )?;
        }
        write!(
            f,
            "run {} ({}, manifest {}, code {})",
            self.run.dir,
            self.run.algo,
            &self.run.manifest_sha256[..12],
            self.run.code_version
        )
    }
}
