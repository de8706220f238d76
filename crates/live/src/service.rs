//! The service's core, the same live and in replay: telemetry in, market data in, set-points
//! out, each through the run's `Decider`, the safety layer and the journal. The clock is an
//! argument, so replay drives it with recorded time and tests with any time they like.

use crate::drift::DriftConfig;
use crate::guard::GuardConfig;
use crate::journal::{DecisionEvent, EventKind, Journal, JournalError, TelemetryEvent};
use crate::lifecycle::{Control, Lifecycle, LifecycleStatus, ShadowConfig};
use crate::safety::{secure, KnownState, SafeSetPoint, SafetyConfig};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_market::calendar::local_day;
use imbarb_market::MarketData;
use imbarb_sim::{BatteryConfig, Granularity};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What runs beside the model and judges it: shadows, the drift guard, input drift checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LifecycleConfig {
    /// The shadows.
    pub shadow: ShadowConfig,
    /// The drift guard.
    pub guard: GuardConfig,
    /// The input drift checks.
    pub drift: DriftConfig,
}

/// A model loaded in place of another (`EventKind::Model`): a promotion or a rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEvent {
    /// The run directory the service was started with (a link a promotion re-points).
    pub run: String,
    /// The manifest SHA-256 of the model before.
    pub previous: String,
    /// The manifest SHA-256 of the model now.
    pub model: String,
    /// The run directory the link points to now.
    pub target: String,
}

/// Why the service could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The run could not be loaded.
    #[error(transparent)]
    Run(#[from] imbarb_agents::decide::DecideError),
    /// The journal failed: the service must not act without one.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The lifecycle settings or state were refused.
    #[error("{0}")]
    Lifecycle(String),
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
    run_dir: PathBuf,
    loaded: Option<PathBuf>,
    refused: Option<PathBuf>,
    /// The model the journal's last decision names, when the service started on another.
    replaced: Option<String>,
    lifecycle: Lifecycle,
}

impl LiveCore {
    /// Loads the run in `run_dir` and opens (or continues) the journal at `journal_path`: the
    /// latest telemetry and set-point come back from it.
    pub fn open(
        run_dir: &Path,
        journal_path: &Path,
        safety: SafetyConfig,
    ) -> Result<LiveCore, LiveError> {
        LiveCore::open_with(run_dir, journal_path, safety, LifecycleConfig::default())
    }

    /// `open`, with shadows, a drift guard and input drift checks (`lifecycle`); control and
    /// the guard's days come back from the journal.
    pub fn open_with(
        run_dir: &Path,
        journal_path: &Path,
        safety: SafetyConfig,
        lifecycle: LifecycleConfig,
    ) -> Result<LiveCore, LiveError> {
        let mut decider = Decider::load(run_dir)?;
        decider.max_age = TimeDelta::days(36_500); // the safety layer judges staleness
        let config = decider.manifest().config.clone();
        let battery = config.env.battery;
        let journal = Journal::open(journal_path)?;
        let model = decider.identity().manifest_sha256.clone();
        let lifecycle = Lifecycle::open(
            &config.env,
            decider.manifest().training_prices,
            lifecycle.shadow,
            lifecycle.guard,
            lifecycle.drift,
            &journal,
            battery.first_soc_mwh(),
        )
        .map_err(LiveError::Lifecycle)?;
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
            run_dir: run_dir.to_path_buf(),
            loaded: std::fs::canonicalize(run_dir).ok(),
            refused: None,
            replaced: None,
            lifecycle,
        };
        let recovered = core.journal.recover(NaiveDate::MIN)?;
        if let Some(d) = &recovered.last_decision {
            core.state.soc_mwh = d.soc_after_mwh;
            core.state.expected_soc_mwh = d.soc_after_mwh;
            core.state.last_power_mw = d.power_mw;
            // Started on another model than the journal's last decision (promoted while the
            // service was down): journaled at the next decision, where the new model decides.
            if d.model != core.model {
                core.replaced = Some(d.model.clone());
            }
        }
        if let Some(t) = recovered.telemetry {
            core.last_telemetry = Some(t.at);
            core.apply_telemetry(&t);
            // A set-point decided after the last measurement moved the battery since: its SoC is
            // the one that set-point left (the measurement predates it).
            if let Some(d) = recovered.last_decision.as_ref().filter(|d| d.at >= t.at) {
                core.state.soc_mwh = d.soc_after_mwh;
            }
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

    /// Days of market history each decision should be handed: the lags, the shadows' refit
    /// and drift windows, and what the run's own planner refits on.
    pub fn history_days(&self) -> u32 {
        self.lifecycle
            .history_days()
            .max(self.decider.history_days())
    }

    /// Shadows, guard and control, as `/v1/status` shows them.
    pub fn lifecycle(&self) -> LifecycleStatus {
        self.lifecycle.status()
    }

    /// Messages for the operator since the last call (a shadow that could not refit, a
    /// promoted model refused).
    pub fn take_notices(&mut self) -> Vec<String> {
        self.lifecycle.take_notices()
    }

    /// Gives control back to the model after the guard handed it to a shadow (an operator's
    /// decision), journaled.
    pub fn release(&mut self, at: DateTime<Utc>) -> Result<(), LiveError> {
        if *self.lifecycle.control() == Control::Model {
            return Err(LiveError::Lifecycle("the model decides already".into()));
        }
        self.lifecycle.restore_model(
            "an operator gave control back to the model",
            at,
            &self.journal,
        )?;
        Ok(())
    }

    /// Loads the run `run_dir` points to when a promotion or rollback re-pointed it: between
    /// two decisions, so none is dropped. A run that cannot decide for this battery is refused
    /// (the current model keeps deciding) and reported once.
    fn reload_if_repointed(&mut self, at: DateTime<Utc>) -> Result<(), LiveError> {
        let Ok(target) = std::fs::canonicalize(&self.run_dir) else {
            return Ok(());
        };
        if Some(&target) == self.loaded.as_ref() || Some(&target) == self.refused.as_ref() {
            return Ok(());
        }
        let loaded = Decider::load(&self.run_dir)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                let (old, new) = (&self.decider.manifest().config, &d.manifest().config);
                if new.env.battery != old.env.battery
                    || new.env.granularity != old.env.granularity
                    || new.env.actions != old.env.actions
                {
                    Err("trained for another battery, granularity or action space".to_string())
                } else {
                    Ok(d)
                }
            });
        let mut decider = match loaded {
            Ok(d) => d,
            Err(e) => {
                self.lifecycle.notify(format!(
                    "{} now points to {}, which is refused (the current model keeps deciding): {e}",
                    self.run_dir.display(),
                    target.display()
                ));
                self.refused = Some(target);
                return Ok(());
            }
        };
        decider.max_age = TimeDelta::days(36_500);
        let previous = self.model.clone();
        self.model = decider.identity().manifest_sha256.clone();
        self.lifecycle
            .set_reference(decider.manifest().training_prices);
        self.decider = decider;
        self.loaded = Some(target);
        self.refused = None;
        self.new_model(previous, at)
    }

    /// Journals that the current model replaced `previous` (a manifest SHA-256) and gives it
    /// control: a new model is judged afresh.
    fn new_model(&mut self, previous: String, at: DateTime<Utc>) -> Result<(), LiveError> {
        let event = ModelEvent {
            run: self.run_dir.display().to_string(),
            previous,
            model: self.model.clone(),
            target: self
                .loaded
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string()),
        };
        self.journal
            .append(EventKind::Model, at, local_day(at), &event)?;
        self.lifecycle
            .restore_model(&format!("model {} loaded", self.model), at, &self.journal)?;
        Ok(())
    }

    /// Closes the day in progress when `at` is past it (the end of a replay): its shadows' and
    /// model's P&L are journaled and judged.
    pub fn finish(&mut self, market: &MarketData, at: DateTime<Utc>) -> Result<(), LiveError> {
        self.lifecycle.finish(market, at, &self.journal)?;
        Ok(())
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
        if let Some(previous) = self.replaced.take() {
            self.new_model(previous, at)?;
        }
        self.reload_if_repointed(at)?;
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
        let duration_h = self.granularity.duration_h();
        self.lifecycle.before_decision(market, at, &self.journal)?;
        let real = (self.state.soc_mwh, self.state.throughput_mwh);
        let shadows = if self.lifecycle.has_shadows() {
            let recent = market.between(at - TimeDelta::days(2), at + TimeDelta::minutes(15));
            self.lifecycle
                .propose(market, &recent, at, real, duration_h)
        } else {
            crate::lifecycle::Proposals { controller: None }
        };
        // The model decides on the real battery while in control, else on its own book's.
        let model_state: BatteryState = self.lifecycle.model_state(at, real);
        let model = self
            .decider
            .decide(market, model_state, Some(at))
            .map_err(|e| e.to_string());
        let scores = model.as_ref().map_or(vec![], |d| d.scores.clone());
        let model_mw = model.as_ref().ok().map(|d| d.power_mw);
        let control = self.lifecycle.control().clone();
        let proposal = match shadows.controller {
            Some(p) => p,
            None => model.map(|d| d.power_mw),
        };
        let market_view = crate::safety::MarketView {
            data_end: self.decider.next_decision_time_before(market, at),
            last_price: market
                .qh
                .iter()
                .rev()
                .find(|r| r.start_utc + TimeDelta::minutes(15) <= at)
                .map(|r| r.price.reference_eur_per_mwh()),
        };
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
            control: (control != Control::Model).then(|| control.to_string()),
        };
        self.journal.append(EventKind::Decision, at, day, &event)?;
        self.lifecycle
            .after_decision(at, real, event.power_mw, model_mw, duration_h);
        if let Some(books) = self.lifecycle.books() {
            self.journal.append(EventKind::Books, at, day, &books)?;
        }
        self.state.throughput_mwh += event.throughput_mwh;
        self.state.last_power_mw = event.power_mw;
        self.state.soc_mwh = soc_after;
        self.state.expected_soc_mwh = soc_after;
        Ok((event, safe))
    }
}
