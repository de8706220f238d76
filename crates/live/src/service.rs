//! The service's core, the same live and in replay: telemetry in, market data in, set-points
//! out, each through the run's `Decider`, the safety layer and the journal. The clock is an
//! argument, so replay drives it with recorded time and tests with any time they like.

use crate::journal::{DecisionEvent, EventKind, Journal, JournalError, TelemetryEvent};
use crate::safety::{secure, KnownState, SafeSetPoint, SafetyConfig};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_market::calendar::local_day;
use imbarb_market::MarketData;
use imbarb_sim::{BatteryConfig, Granularity};
use std::path::Path;

/// Why the service could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The run could not be loaded.
    #[error(transparent)]
    Run(#[from] imbarb_agents::decide::DecideError),
    /// The journal failed: the service must not act without one.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A telemetry message was refused.
    #[error("telemetry refused: {0}")]
    Telemetry(String),
}

/// The service's state between calls.
pub struct LiveCore {
    decider: Decider,
    battery: BatteryConfig,
    granularity: Granularity,
    safety: SafetyConfig,
    journal: Journal,
    state: KnownState,
    day: Option<NaiveDate>,
    last_telemetry: Option<DateTime<Utc>>,
    model: String,
}

impl LiveCore {
    /// Loads the run in `run_dir` and opens (or continues) the journal at `journal_path`: the
    /// latest telemetry and set-point come back from it.
    pub fn open(
        run_dir: &Path,
        journal_path: &Path,
        safety: SafetyConfig,
    ) -> Result<LiveCore, LiveError> {
        let mut decider = Decider::load(run_dir)?;
        decider.max_age = TimeDelta::days(36_500); // the safety layer judges staleness
        let config = decider.manifest().config.clone();
        let battery = config.env.battery;
        let journal = Journal::open(journal_path)?;
        let model = decider.identity().manifest_sha256.clone();
        let mut core = LiveCore {
            decider,
            battery,
            granularity: config.env.granularity,
            safety,
            journal,
            state: KnownState {
                soc_mwh: battery.first_soc_mwh(),
                throughput_mwh: 0.0,
                available_mw: battery.charge_power_mw.max(battery.discharge_power_mw),
                measured_at: None,
                expected_soc_mwh: battery.first_soc_mwh(),
                last_power_mw: 0.0,
                pnl_today_eur: 0.0,
            },
            day: None,
            last_telemetry: None,
            model,
        };
        let recovered = core.journal.recover(NaiveDate::MIN)?;
        if let Some(d) = &recovered.last_decision {
            core.state.soc_mwh = d.soc_after_mwh;
            core.state.expected_soc_mwh = d.soc_after_mwh;
            core.state.last_power_mw = d.power_mw;
        }
        if let Some(t) = recovered.telemetry {
            core.last_telemetry = Some(t.at);
            core.apply_telemetry(&t);
        }
        Ok(core)
    }

    /// The state the safety layer works from.
    pub fn state(&self) -> &KnownState {
        &self.state
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// When the latest accepted telemetry was measured.
    pub fn last_telemetry(&self) -> Option<DateTime<Utc>> {
        self.last_telemetry
    }

    /// The run's identity (manifest SHA-256).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The battery the run was trained for.
    pub fn battery(&self) -> &BatteryConfig {
        &self.battery
    }

    /// Quarter-hour or minute decisions.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// Sets today's P&L so far (settled in replay, estimated live): the daily-loss guard reads it.
    pub fn set_pnl_today(&mut self, eur: f64) {
        self.state.pnl_today_eur = eur;
    }

    /// The safety settings.
    pub fn safety(&self) -> &SafetyConfig {
        &self.safety
    }

    /// Accepts a telemetry message: finite, in the battery's range, newer than the last one.
    pub fn telemetry(&mut self, t: TelemetryEvent) -> Result<(), LiveError> {
        let b = &self.battery;
        let tol = 1e-6;
        if !(t.soc_mwh.is_finite()
            && t.soc_mwh >= b.soc_min_mwh() - tol
            && t.soc_mwh <= b.soc_max_mwh() + tol)
        {
            return Err(LiveError::Telemetry(format!(
                "soc_mwh = {}: the battery holds {} to {} MWh",
                t.soc_mwh,
                b.soc_min_mwh(),
                b.soc_max_mwh()
            )));
        }
        if let Some(a) = t.available_mw {
            if !(a.is_finite() && a >= 0.0) {
                return Err(LiveError::Telemetry(format!(
                    "available_mw = {a}: expected >= 0"
                )));
            }
        }
        if let Some(x) = t.throughput_today_mwh {
            if !(x.is_finite() && x >= 0.0) {
                return Err(LiveError::Telemetry(format!(
                    "throughput_today_mwh = {x}: expected >= 0"
                )));
            }
        }
        if self.last_telemetry.is_some_and(|last| t.at <= last) {
            return Err(LiveError::Telemetry(format!(
                "at = {}: not after the previous message ({})",
                t.at,
                self.last_telemetry.map_or(String::new(), |l| l.to_string())
            )));
        }
        self.journal
            .append(EventKind::Telemetry, t.at, local_day(t.at), &t)?;
        self.last_telemetry = Some(t.at);
        self.apply_telemetry(&t);
        Ok(())
    }

    fn apply_telemetry(&mut self, t: &TelemetryEvent) {
        self.state.soc_mwh = t.soc_mwh;
        self.state.measured_at = Some(t.at);
        if let Some(a) = t.available_mw {
            self.state.available_mw = a;
        }
        if let Some(x) = t.throughput_today_mwh {
            if self.day == Some(local_day(t.at)) {
                self.state.throughput_mwh = x;
            }
        }
    }

    /// The set-point for the interval starting at `at` from `market` (what has been published),
    /// secured and journaled; the battery is then expected to follow it.
    pub fn decide(
        &mut self,
        market: &MarketData,
        at: DateTime<Utc>,
    ) -> Result<(DecisionEvent, SafeSetPoint), LiveError> {
        let day = local_day(at);
        if self.day != Some(day) {
            // A new day (or a restart): the budget counts this day's decisions only.
            self.state.throughput_mwh = self.journal.recover(day)?.throughput_mwh;
            self.state.pnl_today_eur = 0.0;
            self.day = Some(day);
        }
        if let Some(done) = self.journal.decision_at(at)? {
            // Decided before a restart: in force already, and counted once.
            self.state.last_power_mw = done.power_mw;
            let safe = SafeSetPoint {
                power_mw: done.power_mw,
                proposed_mw: done.proposed_mw,
                clipped_mw: done.proposed_mw.map_or(0.0, |p| p - done.power_mw),
                fallback: None,
            };
            return Ok((done, safe));
        }
        let b = self.battery;
        let cycles_used = b.cycles_of(self.state.throughput_mwh);
        let proposal = self
            .decider
            .decide(
                market,
                BatteryState {
                    soc_mwh: self.state.soc_mwh,
                    cycles_used,
                },
                Some(at),
            )
            .map_err(|e| e.to_string());
        let scores = proposal.as_ref().map_or(vec![], |d| d.scores.clone());
        let proposal = proposal.map(|d| d.power_mw);
        let market_view = crate::safety::MarketView {
            data_end: self.decider.next_decision_time_before(market, at),
            last_price: market
                .qh
                .iter()
                .rev()
                .find(|r| r.start_utc + TimeDelta::minutes(15) <= at)
                .map(|r| r.price.reference_eur_per_mwh()),
        };
        let duration_h = self.granularity.duration_h();
        let safe = secure(
            &self.safety,
            &b,
            &self.state,
            proposal,
            market_view,
            at,
            duration_h,
        );
        let left = b.daily_throughput_budget_mwh() - self.state.throughput_mwh;
        let step = b.step(self.state.soc_mwh, left, safe.power_mw, duration_h);
        let soc_after = (self.state.soc_mwh + step.cell_in_mwh - step.cell_out_mwh)
            .clamp(b.soc_min_mwh(), b.soc_max_mwh());
        let event = DecisionEvent {
            at,
            day,
            power_mw: safe.power_mw,
            proposed_mw: safe.proposed_mw,
            fallback: safe.fallback.as_ref().map(|r| r.to_string()),
            throughput_mwh: step.cell_in_mwh + step.cell_out_mwh,
            soc_after_mwh: soc_after,
            duration_h,
            profit_eur: None,
            scores,
            model: self.model.clone(),
        };
        self.journal.append(EventKind::Decision, at, day, &event)?;
        self.state.throughput_mwh += event.throughput_mwh;
        self.state.last_power_mw = event.power_mw;
        self.state.soc_mwh = soc_after;
        self.state.expected_soc_mwh = soc_after;
        Ok((event, safe))
    }
}
