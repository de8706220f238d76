//! Shadow baselines: the threshold rule and the forecast MPC, refit every day on the most recent
//! published days, deciding at every decision time from what had been published (the same
//! knowledge the deployed model has), without acting. The service books what each would have
//! earned (`book`) and the drift guard compares the model with them (`guard`).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use imbarb_baselines::{ForecastMpc, ThresholdRule};
use imbarb_market::calendar::{day_start_utc, local_day, qhs_in_day, wall_clock_slot};
use imbarb_market::{Coverage, MarketData};
use imbarb_sim::actions::{action_mask, fraction_to_mw};
use imbarb_sim::{
    Action, ActionSpace, Decision, EnvConfig, Granularity, MarketDays, MarketFeatures,
    ObservationConfig, Policy,
};
use serde::{Deserialize, Serialize};

/// A baseline the service can run in the shadow of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    /// The threshold rule (its signal and thresholds chosen on the refit window's profit).
    Rule,
    /// The forecast MPC (profile, persistence and, where published, the day-ahead blend, fitted
    /// on the refit window).
    Mpc,
}

impl std::fmt::Display for BaselineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BaselineKind::Rule => "rule",
            BaselineKind::Mpc => "mpc",
        })
    }
}

/// A baseline running in the shadow: refit daily, deciding on published data.
pub struct ShadowBaseline {
    kind: BaselineKind,
    env: EnvConfig,
    horizon: usize,
    policy: Option<Box<dyn Policy + Send>>,
    fitted_for: Option<NaiveDate>,
    started: Option<NaiveDate>,
}

impl ShadowBaseline {
    /// A shadow `kind` acting in the deployed run's environment `env` (battery, actions); the
    /// MPC looks `horizon` quarter-hours ahead.
    pub fn new(kind: BaselineKind, env: EnvConfig, horizon: usize) -> ShadowBaseline {
        ShadowBaseline {
            kind,
            env,
            horizon,
            policy: None,
            fitted_for: None,
            started: None,
        }
    }

    /// Its name in reports and the journal.
    pub fn kind(&self) -> BaselineKind {
        self.kind
    }

    /// Whether it was fitted for `day` (it decides only then).
    pub fn fitted_for(&self, day: NaiveDate) -> bool {
        self.fitted_for == Some(day)
    }

    /// Refits on the complete days of `history` among the `window_days` before `day` (what had
    /// been published by the day's start). An error says why it cannot decide that day.
    pub fn refit(
        &mut self,
        history: &MarketData,
        day: NaiveDate,
        window_days: u32,
    ) -> Result<usize, String> {
        self.policy = None;
        self.fitted_for = None;
        let first = day - TimeDelta::days(i64::from(window_days));
        let published = history.published_before(day_start_utc(day));
        let dates: Vec<NaiveDate> = Coverage::of(&published)
            .complete_days
            .into_iter()
            .filter(|d| *d >= first && *d < day)
            .collect();
        if dates.is_empty() {
            return Err(format!(
                "no complete day of prices in the {window_days} days before {day} to refit on"
            ));
        }
        let days = MarketDays::new(&published, &dates, Granularity::Qh, 0)
            .map_err(|e| format!("refit window: {e}"))?;
        let train: Vec<usize> = (0..dates.len()).collect();
        // The baselines read prices and the day-ahead curve directly; fitted on quarter-hours.
        let env = EnvConfig {
            granularity: Granularity::Qh,
            observation: ObservationConfig::default(),
            ..self.env.clone()
        };
        let policy: Box<dyn Policy + Send> = match self.kind {
            BaselineKind::Rule => {
                let features =
                    MarketFeatures::build(&days, &env.observation, Granularity::Qh, &train)
                        .map_err(|e| format!("refit window: {e}"))?;
                Box::new(
                    ThresholdRule::fit(&days, &features, &env, &train)
                        .map_err(|e| e.to_string())?,
                )
            }
            BaselineKind::Mpc => Box::new(
                ForecastMpc::fit(&days, &train, env.battery, env.actions, self.horizon)
                    .map_err(|e| e.to_string())?,
            ),
        };
        self.policy = Some(policy);
        self.fitted_for = Some(day);
        Ok(dates.len())
    }

    /// The set-point (MW, > 0 discharge) for the interval starting at `at`, from what `recent`
    /// had published before `at`, with the battery at `soc_mwh` having moved `throughput_mwh`
    /// of cell energy today.
    pub fn propose(
        &mut self,
        recent: &MarketData,
        at: DateTime<Utc>,
        soc_mwh: f64,
        throughput_mwh: f64,
    ) -> Result<f64, String> {
        let date = local_day(at);
        let Some(policy) = self
            .policy
            .as_mut()
            .filter(|_| self.fitted_for == Some(date))
        else {
            return Err(format!("{} is not fitted for {date}", self.kind));
        };
        if self.started != Some(date) {
            policy.start_day(date);
            self.started = Some(date);
        }
        let published = recent.published_before(at);
        let mut days = MarketDays::new(&published, &[], Granularity::Qh, 0)
            .map_err(|e| format!("no price published before {at}: {e}"))?;
        let qh_start = at - TimeDelta::seconds(at.timestamp().rem_euclid(900));
        let since_grid = (qh_start - days.grid_start).num_seconds();
        if since_grid < 0 {
            return Err(format!("the data starts after {at}"));
        }
        let g = (since_grid / 900) as usize;
        if days.grid_price.len() < g {
            days.grid_price.resize(g, f64::NAN);
        }
        let day_start = day_start_utc(date);
        let qh = ((qh_start - day_start).num_seconds() / 900) as usize;
        let minute = ((at - qh_start).num_seconds() / 60) as usize;
        let day_ahead_known = if days.grid_day_ahead.is_empty() {
            &[][..]
        } else {
            let rule = self.env.observation.day_ahead_rule().unwrap_or_default();
            let end = rule.ends(&days, date).at(at).min(days.grid_day_ahead.len());
            &days.grid_day_ahead[..end]
        };
        let b = self.env.battery;
        let duration_h = self.env.granularity.duration_h();
        let levels = self.env.actions.n();
        let mut mask = vec![false; levels];
        action_mask(
            &b,
            soc_mwh,
            b.daily_throughput_budget_mwh() - throughput_mwh,
            duration_h,
            self.env.levels_at_limits,
            &mut mask,
        );
        let per_qh = self.env.granularity.decisions_per_qh();
        let decision = Decision {
            date,
            day_index: date.num_days_from_ce().max(0) as usize,
            step: qh * per_qh + minute,
            qh,
            minute,
            n_qh: qhs_in_day(date),
            slot: wall_clock_slot(qh_start),
            soc_mwh,
            cycles_used: b.cycles_of(throughput_mwh),
            known_prices: &days.grid_price[..g],
            day_ahead_known,
            latest_estimate: None,
            observation: &[],
            mask: &mask,
        };
        let fraction = match policy.act(&decision) {
            Action::Discrete(i) => ActionSpace::level_fraction(i, levels),
            Action::Continuous(f) => f,
        };
        Ok(fraction_to_mw(&b, fraction))
    }
}
