//! The model's life in the service: shadow policies booked beside it, the drift guard judging it
//! once a day, who is in control, and input drift warnings. `LiveCore` calls it around every
//! decision; everything it changes is journaled, and a restart recovers it from the journal.

use crate::book::Book;
use crate::drift::DriftConfig;
use crate::guard::{
    is_alarm, judge, judge_return, judge_shadow, Alert, DayResult, GuardConfig, Verdict,
};
use crate::journal::{EventKind, Journal, JournalError};
use crate::shadow::{BaselineKind, ShadowBaseline};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_market::calendar::{day_start_utc, local_day};
use imbarb_market::stats::PriceSummary;
use imbarb_market::MarketData;
use imbarb_sim::EnvConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[shadow]` in `live.toml`: what runs beside the model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShadowConfig {
    /// Baselines evaluated beside the model: `"rule"`, `"mpc"`.
    pub baselines: Vec<BaselineKind>,
    /// A challenger run evaluated beside the model (booked, never in control).
    pub challenger: Option<PathBuf>,
    /// Days of published prices the baselines are refit on, every day.
    pub refit_days: u32,
    /// The MPC's look-ahead, quarter-hours.
    pub mpc_horizon: usize,
}

impl Default for ShadowConfig {
    fn default() -> Self {
        ShadowConfig {
            baselines: vec![],
            challenger: None,
            refit_days: 28,
            mpc_horizon: imbarb_baselines::mpc::DEFAULT_MPC_HORIZON,
        }
    }
}

impl ShadowConfig {
    /// Checks the numbers, naming the key.
    pub fn check(&self) -> Result<(), String> {
        use imbarb_util::range::Range;
        let e = |e: imbarb_util::range::OutOfRange| format!("shadow.{e}");
        Range::closed(1.0, 3_660.0)
            .check("refit_days", f64::from(self.refit_days))
            .map_err(e)?;
        Range::closed(1.0, imbarb_baselines::mpc::MAX_MPC_HORIZON as f64)
            .check("mpc_horizon", self.mpc_horizon as f64)
            .map_err(e)?;
        let mut seen = self.baselines.clone();
        seen.sort_by_key(|k| k.to_string());
        seen.dedup();
        if seen.len() != self.baselines.len() {
            return Err("shadow.baselines names a baseline twice".into());
        }
        Ok(())
    }
}

/// Who decides the set-point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "by", content = "name", rename_all = "kebab-case")]
pub enum Control {
    /// The deployed model.
    #[default]
    Model,
    /// A shadow baseline the guard handed control to.
    Shadow(String),
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Control::Model => f.write_str("model"),
            Control::Shadow(name) => write!(f, "{name} shadow"),
        }
    }
}

/// A closed day as journaled (`EventKind::Day`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayEvent {
    /// The day's P&L: the model's and every shadow's.
    pub result: DayResult,
    /// The challenger's, if one runs.
    pub challenger_eur: Option<f64>,
    /// What the battery earned following the set-points sent (the controller's book).
    pub sent_eur: f64,
    /// Who was in control at the day's end.
    pub control: Control,
    /// The control period the day belongs to (a new one starts at every switch or new model).
    pub epoch: u64,
}

/// A change of control or a guard alert, with its evidence (`EventKind::Guard`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEvent {
    /// What the guard found (empty for an operator's release or a new model).
    pub alerts: Vec<Alert>,
    /// Why control changed, in words.
    pub reason: String,
    /// Control before.
    pub from: Control,
    /// Control after.
    pub to: Control,
    /// The control period from now on.
    pub epoch: u64,
    /// The closed days judged (the window's evidence).
    pub evidence: Vec<DayResult>,
}

/// The books of the day in progress (`EventKind::Books`, after every decision): a restart
/// continues them rather than starting the day's P&L anew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BooksEvent {
    /// The day in progress.
    pub day: NaiveDate,
    /// The model's book.
    pub model: Book,
    /// What the battery did.
    pub sent: Book,
    /// Each shadow's book, and whether it has decided all day so far.
    pub shadows: Vec<(String, Book, bool)>,
    /// The challenger's, if one runs.
    pub challenger: Option<(Book, bool)>,
}

/// The service's view of the lifecycle, for `/v1/status`, `/metrics` and the status page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LifecycleStatus {
    /// Who decides.
    pub control: Control,
    /// The current control period.
    pub epoch: u64,
    /// The latest verdict's alerts (in words).
    pub alerts: Vec<String>,
    /// Alerts since the service started.
    pub alerts_total: u64,
    /// Input drift warnings of the latest day.
    pub drift_warnings: Vec<String>,
    /// Closed days judged in this control period.
    pub days_judged: usize,
    /// Mean daily P&L of the model and every shadow over the guard's window (closed days of
    /// this control period), EUR/day.
    pub window_eur_per_day: Vec<(String, Option<f64>)>,
    /// Today's settled P&L of the model and every shadow so far, EUR.
    pub today_eur: Vec<(String, f64)>,
}

/// One shadow baseline with its book and whether it decided all day.
struct Shadow {
    baseline: ShadowBaseline,
    book: Book,
    complete_today: bool,
    /// The day a refit was last tried (tried once a day).
    refit_tried: Option<NaiveDate>,
}

/// A challenger run with its book.
struct Challenger {
    decider: Decider,
    book: Book,
    complete_today: bool,
}

/// The lifecycle's state between decisions.
pub struct Lifecycle {
    shadow_config: ShadowConfig,
    guard: GuardConfig,
    drift: DriftConfig,
    reference: Option<PriceSummary>,
    shadows: Vec<Shadow>,
    challenger: Option<Challenger>,
    model_book: Book,
    sent_book: Book,
    control: Control,
    epoch: u64,
    closed: Vec<DayResult>,
    day: Option<NaiveDate>,
    drift_day: Option<NaiveDate>,
    verdict: Verdict,
    alerts_total: u64,
    drift_warnings: Vec<String>,
    notices: Vec<String>,
}

/// What the shadows proposed for one decision time.
pub struct Proposals {
    /// The controlling shadow's proposal on the real battery, when a shadow is in control
    /// (`Err`: it could not decide, and the safety layer's fallback decides).
    pub controller: Option<Result<f64, String>>,
}

impl Lifecycle {
    /// The lifecycle of a model trained on `reference` prices for `env`, with `shadow`, `guard`
    /// and `drift` settings, starting from what `journal` recorded.
    pub fn open(
        env: &EnvConfig,
        reference: Option<PriceSummary>,
        shadow: ShadowConfig,
        guard: GuardConfig,
        drift: DriftConfig,
        journal: &Journal,
        soc_mwh: f64,
    ) -> Result<Lifecycle, String> {
        let battery = env.battery;
        let shadows = shadow
            .baselines
            .iter()
            .map(|&k| Shadow {
                baseline: ShadowBaseline::new(k, env.clone(), shadow.mpc_horizon),
                book: Book::new(battery, soc_mwh),
                complete_today: false,
                refit_tried: None,
            })
            .collect();
        let challenger = match &shadow.challenger {
            None => None,
            Some(dir) => {
                let mut decider =
                    Decider::load(dir).map_err(|e| format!("shadow.challenger: {e}"))?;
                decider.max_age = TimeDelta::days(36_500);
                let c = &decider.manifest().config.env;
                if c.battery != battery || c.granularity != env.granularity {
                    return Err(format!(
                        "shadow.challenger {}: trained for another battery or granularity than the deployed run",
                        dir.display()
                    ));
                }
                Some(Challenger {
                    decider,
                    book: Book::new(battery, soc_mwh),
                    complete_today: false,
                })
            }
        };
        let mut life = Lifecycle {
            shadow_config: shadow,
            guard,
            drift,
            reference,
            shadows,
            challenger,
            model_book: Book::new(battery, soc_mwh),
            sent_book: Book::new(battery, soc_mwh),
            control: Control::Model,
            epoch: 0,
            closed: vec![],
            day: None,
            drift_day: None,
            verdict: Verdict::default(),
            alerts_total: 0,
            drift_warnings: vec![],
            notices: vec![],
        };
        life.recover(journal).map_err(|e| e.to_string())?;
        Ok(life)
    }

    /// Restores control, the control period and its closed days from the journal.
    fn recover(&mut self, journal: &Journal) -> Result<(), JournalError> {
        if let Some(g) = journal.latest::<GuardEvent>(EventKind::Guard)? {
            self.control = g.to;
            self.epoch = g.epoch;
        }
        let days: Vec<DayEvent> = journal.all(EventKind::Day)?;
        self.closed = days
            .into_iter()
            .filter(|d| d.epoch == self.epoch)
            .map(|d| d.result)
            .collect();
        // The day in progress continues where the books were left; after a closed day, each
        // simulated battery starts the next one where it ended (not at the first-day SoC).
        if let Some(b) = journal.latest::<BooksEvent>(EventKind::Books)? {
            self.restore_books(b, journal)?;
        }
        self.release_unconfigured_control();
        Ok(())
    }

    /// Restores the books of the journal's latest snapshot `b`: all of them for a day still in
    /// progress, only the simulated batteries' SoC after a closed day.
    fn restore_books(&mut self, b: BooksEvent, journal: &Journal) -> Result<(), JournalError> {
        let closed = !journal
            .events::<DayEvent>(EventKind::Day, b.day)?
            .is_empty();
        if closed {
            self.model_book.soc_mwh = b.model.soc_mwh;
            for s in &mut self.shadows {
                let name = s.baseline.kind().to_string();
                if let Some((_, book, _)) = b.shadows.iter().find(|x| x.0 == name) {
                    s.book.soc_mwh = book.soc_mwh;
                }
            }
            if let (Some(c), Some((book, _))) = (&mut self.challenger, &b.challenger) {
                c.book.soc_mwh = book.soc_mwh;
            }
        } else {
            self.day = Some(b.day);
            self.model_book = b.model;
            self.sent_book = b.sent;
            for s in &mut self.shadows {
                let name = s.baseline.kind().to_string();
                if let Some((_, book, complete)) = b.shadows.iter().find(|x| x.0 == name) {
                    s.book = book.clone();
                    s.complete_today = *complete;
                }
            }
            if let (Some(c), Some((book, complete))) = (&mut self.challenger, b.challenger) {
                c.book = book;
                c.complete_today = complete;
            }
        }
        Ok(())
    }

    /// A shadow in control that is no longer configured cannot decide: the model takes over.
    fn release_unconfigured_control(&mut self) {
        if let Control::Shadow(name) = &self.control {
            if !self
                .shadows
                .iter()
                .any(|s| s.baseline.kind().to_string() == *name)
            {
                self.notices.push(format!(
                    "the journal hands control to the {name} shadow, which is not configured: the model decides"
                ));
                self.control = Control::Model;
            }
        }
    }

    /// Whether anything runs beside the model.
    pub fn has_shadows(&self) -> bool {
        !self.shadows.is_empty() || self.challenger.is_some()
    }

    /// Days of history a decision should be handed (the refit and drift windows, plus today).
    pub fn history_days(&self) -> u32 {
        let mut days = 2;
        if !self.shadows.is_empty() {
            days = days.max(self.shadow_config.refit_days + 1);
        }
        if self.reference.is_some() {
            days = days.max(self.drift.window_days + 1);
        }
        days
    }

    /// Who decides.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Messages for the operator since the last call (refits that failed, a model not reloaded).
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Everything before a decision at `at`: settles the books on what `market` has published;
    /// on a new day closes the previous one (journaled), lets the guard judge it (and hand over,
    /// journaled with its evidence), checks input drift and refits the shadows.
    pub fn before_decision(
        &mut self,
        market: &MarketData,
        at: DateTime<Utc>,
        journal: &Journal,
    ) -> Result<(), JournalError> {
        self.finish(market, at, journal)?;
        let today = local_day(at);
        if self.day != Some(today) {
            self.day = Some(today);
            for s in &mut self.shadows {
                s.complete_today = true;
            }
            if let Some(c) = &mut self.challenger {
                c.complete_today = true;
            }
        }
        if self.drift_day != Some(today) {
            self.drift_day = Some(today);
            self.check_drift(market, today);
        }
        // Refit once a day: at its start, or at a restart during it.
        for s in &mut self.shadows {
            if s.baseline.fitted_for(today) || s.refit_tried == Some(today) {
                continue;
            }
            s.refit_tried = Some(today);
            if let Err(e) = s
                .baseline
                .refit(market, today, self.shadow_config.refit_days)
            {
                self.notices
                    .push(format!("{} shadow, {today}: {e}", s.baseline.kind()));
                s.complete_today = false;
            }
        }
        Ok(())
    }

    /// The books of the day in progress, for the journal.
    pub fn books(&self) -> Option<BooksEvent> {
        Some(BooksEvent {
            day: self.day?,
            model: self.model_book.clone(),
            sent: self.sent_book.clone(),
            shadows: self
                .shadows
                .iter()
                .map(|s| {
                    (
                        s.baseline.kind().to_string(),
                        s.book.clone(),
                        s.complete_today,
                    )
                })
                .collect(),
            challenger: self
                .challenger
                .as_ref()
                .map(|c| (c.book.clone(), c.complete_today)),
        })
    }

    /// Settles the books on what `market` has published by `at` and, once `at` is past the day
    /// in progress, closes it (journaled, judged): before every decision, and at the end of a
    /// replay, whose last day no later decision closes.
    pub fn finish(
        &mut self,
        market: &MarketData,
        at: DateTime<Utc>,
        journal: &Journal,
    ) -> Result<(), JournalError> {
        self.settle(market, at);
        if let Some(day) = self.day.filter(|d| *d < local_day(at)) {
            self.close_day(day, at, journal)?;
            self.day = None;
        }
        Ok(())
    }

    /// Settles every book on what `market` has published by `at`.
    fn settle(&mut self, market: &MarketData, at: DateTime<Utc>) {
        self.books_mut().for_each(|book| book.settle(market, at));
    }

    /// Every book kept: the model's, what was sent, each shadow's and the challenger's.
    fn books_mut(&mut self) -> impl Iterator<Item = &mut Book> {
        let shadows = self.shadows.iter_mut().map(|s| &mut s.book);
        let challenger = self.challenger.iter_mut().map(|c| &mut c.book);
        [&mut self.model_book, &mut self.sent_book]
            .into_iter()
            .chain(shadows)
            .chain(challenger)
    }

    /// Books `day` as closed, judges the control period's days and acts on the verdict.
    fn close_day(
        &mut self,
        day: NaiveDate,
        at: DateTime<Utc>,
        journal: &Journal,
    ) -> Result<(), JournalError> {
        let result = DayResult {
            day,
            model_eur: self.model_book.day_eur(day),
            shadows: self
                .shadows
                .iter()
                .map(|s| {
                    (
                        s.baseline.kind().to_string(),
                        s.complete_today.then(|| s.book.day_eur(day)),
                    )
                })
                .collect(),
        };
        let event = DayEvent {
            result: result.clone(),
            challenger_eur: self
                .challenger
                .as_ref()
                .and_then(|c| c.complete_today.then(|| c.book.day_eur(day))),
            sent_eur: self.sent_book.day_eur(day),
            control: self.control.clone(),
            epoch: self.epoch,
        };
        journal.append(EventKind::Day, at, day, &event)?;
        // The day is closed: the snapshots of the days before it are no longer needed (its own
        // last one tells a restart where each simulated battery ended).
        journal.forget_before(EventKind::Books, day)?;
        self.closed.push(result);
        // Journaled: the books keep only the days still open.
        self.books_mut().for_each(|book| book.forget_through(day));
        // While a shadow decides, control follows the best shadow; the model's own lead (when
        // configured), an operator or a new model gives it back to the model.
        if let Control::Shadow(controller) = &self.control {
            if self.guard.return_to_model {
                if let Some(alert) = judge_return(&self.guard, &self.closed, controller) {
                    self.verdict = Verdict::default();
                    return self.switch(Control::Model, vec![alert], at, journal);
                }
            }
            if let Some(alert) = judge_shadow(&self.guard, &self.closed, controller) {
                let Alert::ShadowTrailing { shadow, .. } = &alert else {
                    return Ok(());
                };
                let to = Control::Shadow(shadow.clone());
                self.verdict = Verdict {
                    alerts: vec![alert.clone()],
                    best_shadow: None,
                };
                self.switch(to, vec![alert], at, journal)?;
            }
            return Ok(());
        }
        self.verdict = judge(&self.guard, &self.closed);
        if self.verdict.alerts.is_empty() {
            return Ok(());
        }
        let to = match (&self.verdict.best_shadow, self.guard.handover) {
            (Some((name, _)), true) => Control::Shadow(name.clone()),
            _ => Control::Model,
        };
        self.switch(to, self.verdict.alerts.clone(), at, journal)
    }

    /// Journals `alerts` with the window's days as evidence and hands control to `to` (no
    /// change when it already decides: the alerts are recorded).
    fn switch(
        &mut self,
        to: Control,
        alerts: Vec<Alert>,
        at: DateTime<Utc>,
        journal: &Journal,
    ) -> Result<(), JournalError> {
        self.alerts_total += alerts.iter().filter(|a| is_alarm(a)).count() as u64;
        let window = self.guard.window_days as usize;
        let evidence = self.closed[self.closed.len().saturating_sub(window)..].to_vec();
        let switching = to != self.control;
        let reason = if switching {
            format!("the guard hands control to the {to}")
        } else {
            "the guard alerts (no handover configured, or no shadow decided every day of the window)"
                .to_string()
        };
        let epoch = if switching {
            self.epoch + 1
        } else {
            self.epoch
        };
        journal.append(
            EventKind::Guard,
            at,
            local_day(at),
            &GuardEvent {
                alerts,
                reason,
                from: self.control.clone(),
                to: to.clone(),
                epoch,
                evidence,
            },
        )?;
        if switching {
            self.control = to;
            self.epoch = epoch;
            self.closed.clear();
        }
        Ok(())
    }

    /// Gives control back to the model (an operator's release, or a new model), journaled.
    pub fn restore_model(
        &mut self,
        reason: &str,
        at: DateTime<Utc>,
        journal: &Journal,
    ) -> Result<(), JournalError> {
        let epoch = self.epoch + 1;
        journal.append(
            EventKind::Guard,
            at,
            local_day(at),
            &GuardEvent {
                alerts: vec![],
                reason: reason.to_string(),
                from: self.control.clone(),
                to: Control::Model,
                epoch,
                evidence: vec![],
            },
        )?;
        self.control = Control::Model;
        self.epoch = epoch;
        self.closed.clear();
        self.verdict = Verdict::default();
        Ok(())
    }

    /// Compares the last `drift.window_days` of published prices with the training prices.
    fn check_drift(&mut self, market: &MarketData, today: NaiveDate) {
        let Some(reference) = &self.reference else {
            return;
        };
        let from = day_start_utc(today - TimeDelta::days(i64::from(self.drift.window_days)));
        let to = day_start_utc(today);
        let recent = PriceSummary::of(
            market
                .qh
                .iter()
                .filter(|r| r.start_utc >= from && r.start_utc < to)
                .map(|r| r.price.reference_eur_per_mwh()),
        );
        self.drift_warnings = recent.map_or(vec![], |r| {
            crate::drift::warnings(&self.drift, reference, &r)
        });
    }

    /// Runs every shadow for the decision time `at` (each on its own simulated battery; the one
    /// in control on the real `state`) and the challenger; returns the controller's proposal.
    pub fn propose(
        &mut self,
        market: &MarketData,
        recent: &MarketData,
        at: DateTime<Utc>,
        real: (f64, f64),
        duration_h: f64,
    ) -> Proposals {
        let mut controller = None;
        for s in &mut self.shadows {
            s.book.start(at);
            let name = s.baseline.kind().to_string();
            let in_control = self.control == Control::Shadow(name);
            if in_control {
                s.book.sync(real.0, real.1);
            }
            let proposal = if s.complete_today || in_control {
                s.baseline
                    .propose(recent, at, s.book.soc_mwh, s.book.throughput_mwh)
            } else {
                Err(format!(
                    "{} shadow could not refit today",
                    s.baseline.kind()
                ))
            };
            if proposal.is_err() {
                s.complete_today = false;
            }
            if in_control {
                controller = Some(proposal);
            } else {
                s.book.follow(at, proposal.unwrap_or(0.0), duration_h);
            }
        }
        if let Some(c) = &mut self.challenger {
            c.book.start(at);
            let state = BatteryState {
                soc_mwh: c.book.soc_mwh,
                cycles_used: c.book.cycles_used(),
            };
            let power = match c.decider.decide(market, state, Some(at)) {
                Ok(d) => d.power_mw,
                Err(_) => {
                    c.complete_today = false;
                    0.0
                }
            };
            c.book.follow(at, power, duration_h);
        }
        Proposals { controller }
    }

    /// The battery state the model decides on at `at`: the real one (`real`: SoC and today's
    /// cell throughput) while it decides, else its own book's.
    pub fn model_state(&mut self, at: DateTime<Utc>, real: (f64, f64)) -> BatteryState {
        self.model_book.start(at);
        if self.control == Control::Model {
            self.model_book.sync(real.0, real.1);
        }
        BatteryState {
            soc_mwh: self.model_book.soc_mwh,
            cycles_used: self.model_book.cycles_used(),
        }
    }

    /// Records the set-point sent (and the model's own proposal when it does not decide).
    pub fn after_decision(
        &mut self,
        at: DateTime<Utc>,
        real: (f64, f64),
        sent_mw: f64,
        model_mw: Option<f64>,
        duration_h: f64,
    ) {
        self.sent_book.start(at);
        self.sent_book.sync(real.0, real.1);
        self.sent_book.follow(at, sent_mw, duration_h);
        match &self.control {
            Control::Model => self.model_book.follow(at, sent_mw, duration_h),
            Control::Shadow(name) => {
                self.model_book
                    .follow(at, model_mw.unwrap_or(0.0), duration_h);
                if let Some(s) = self
                    .shadows
                    .iter_mut()
                    .find(|s| s.baseline.kind().to_string() == *name)
                {
                    s.book.follow(at, sent_mw, duration_h);
                }
            }
        }
    }

    /// The lifecycle as `/v1/status` shows it.
    pub fn status(&self) -> LifecycleStatus {
        let window = self.guard.window_days as usize;
        let recent = &self.closed[self.closed.len().saturating_sub(window)..];
        let mean = |values: Vec<Option<f64>>| -> Option<f64> {
            let v: Option<Vec<f64>> = values.into_iter().collect();
            v.filter(|v| !v.is_empty())
                .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        };
        let mut window_eur_per_day = vec![(
            "model".to_string(),
            mean(recent.iter().map(|d| Some(d.model_eur)).collect()),
        )];
        for (k, s) in self.shadows.iter().enumerate() {
            window_eur_per_day.push((
                s.baseline.kind().to_string(),
                mean(
                    recent
                        .iter()
                        .map(|d| d.shadows.get(k).and_then(|x| x.1))
                        .collect(),
                ),
            ));
        }
        let today = self.day.unwrap_or_default();
        let mut today_eur = vec![("model".to_string(), self.model_book.day_eur(today))];
        today_eur.extend(
            self.shadows
                .iter()
                .map(|s| (s.baseline.kind().to_string(), s.book.day_eur(today))),
        );
        if let Some(c) = &self.challenger {
            today_eur.push(("challenger".into(), c.book.day_eur(today)));
        }
        LifecycleStatus {
            control: self.control.clone(),
            epoch: self.epoch,
            alerts: self.verdict.alerts.iter().map(|a| a.to_string()).collect(),
            alerts_total: self.alerts_total,
            drift_warnings: self.drift_warnings.clone(),
            days_judged: self.closed.len(),
            window_eur_per_day,
            today_eur,
        }
    }

    /// A message for the operator (`take_notices`).
    pub fn notify(&mut self, message: String) {
        self.notices.push(message);
    }

    /// The training prices of a newly loaded model: drift is judged against them from now on.
    pub fn set_reference(&mut self, reference: Option<PriceSummary>) {
        self.reference = reference;
    }
}
