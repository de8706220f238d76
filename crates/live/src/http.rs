//! The service's HTTP API (versioned under `/v1`): the set-point in force, telemetry in, the
//! service's status, liveness and readiness, and Prometheus metrics. Writes need the bearer
//! token when one is configured; bound beyond loopback, everything does, and binding there
//! without a token is refused.

use crate::journal::{DecisionEvent, TelemetryEvent};
use crate::safety::SafeSetPoint;
use crate::service::{LiveCore, LiveError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Live (telemetry from the battery) or replay (a simulated battery reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Deciding for a real battery.
    Live,
    /// Paper trading on recorded data.
    Replay,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Decisions made.
    pub decisions: AtomicU64,
    /// Decisions the fallback made.
    pub fallbacks: AtomicU64,
    /// Fetches that failed.
    pub fetch_errors: AtomicU64,
    /// Telemetry messages refused.
    pub telemetry_refused: AtomicU64,
    /// The latest decision's latency inside the service, nanoseconds.
    pub decision_ns: AtomicU64,
    /// Fallback decisions by reason kind.
    pub fallbacks_by_reason: Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// The latest fetch's duration, nanoseconds.
    pub fetch_ns: AtomicU64,
}

impl Counters {
    /// Counts a decision (and its fallback, by reason) that took `ns`.
    pub fn decision(&self, set_point: &SafeSetPoint, ns: u64) {
        self.decision_ns.store(ns, Ordering::Relaxed);
        self.decisions.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = &set_point.fallback {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            *locked(&self.fallbacks_by_reason)
                .entry(reason.kind())
                .or_default() += 1;
        }
    }
}

/// What `/v1/status` and `/v1/decision` report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The latest decision and what the safety layer made of it.
    pub last: Option<(DecisionEvent, SafeSetPoint)>,
    /// End of the newest market data.
    pub data_end: Option<DateTime<Utc>>,
    /// The service's clock at the latest decision (simulated in replay).
    pub clock: Option<DateTime<Utc>>,
    /// P&L estimate of the current day so far, EUR (replay: settled).
    pub pnl_today_eur: f64,
    /// The latest errors, newest last.
    pub errors: VecDeque<String>,
    /// Today's final prices so far, for the status page.
    pub prices_today: Vec<(DateTime<Utc>, f64)>,
    /// The latest running estimate of the quarter-hour in progress (minute computed, EUR/MWh).
    pub latest_estimate: Option<(DateTime<Utc>, f64)>,
    /// Shadows, guard and control after the latest decision.
    pub lifecycle: crate::lifecycle::LifecycleStatus,
}

impl Status {
    /// Takes the core's lifecycle view and its messages for the operator after a decision.
    pub fn lifecycle_from(&mut self, core: &mut LiveCore) {
        for notice in core.take_notices() {
            self.error(notice);
        }
        self.lifecycle = core.lifecycle();
    }

    /// Records an error (the last 20 are kept).
    pub fn error(&mut self, e: impl std::fmt::Display) {
        if self.errors.len() == 20 {
            self.errors.pop_front();
        }
        self.errors
            .push_back(format!("{}: {e}", Utc::now().format("%Y-%m-%dT%H:%M:%SZ")));
    }
}

/// Everything the handlers share.
pub struct Service {
    /// The core (locked per call).
    pub core: Mutex<LiveCore>,
    /// The status the endpoints show.
    pub status: Mutex<Status>,
    /// Metrics.
    pub counters: Counters,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// Whether reads need the token too (bound beyond loopback).
    pub protect_reads: bool,
    /// Live or replay.
    pub mode: Mode,
    /// Exclusive ownership of the journal's folder for the service's life (`None` in tests and
    /// benchmarks that own their temporary folder).
    pub owned: Option<imbarb_util::fs::DirLock>,
}

/// Refuses to bind beyond loopback without a token; says whether reads need it.
pub fn check_bind(addr: &SocketAddr, token: Option<&str>) -> Result<bool, String> {
    let public = !addr.ip().is_loopback();
    if public && token.is_none_or(str::is_empty) {
        return Err(format!(
            "refusing to bind {addr} (beyond this machine) without a token: set `token` in the live config"
        ));
    }
    Ok(public)
}

fn authorised(svc: &Service, headers: &HeaderMap) -> bool {
    match &svc.token {
        None => true,
        Some(t) => headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| given == t),
    }
}

fn unauthorised() -> Response {
    (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response()
}

/// The API's routes.
pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/v1/decision", get(decision))
        .route("/v1/status", get(status))
        .route("/v1/telemetry", post(telemetry))
        .route("/v1/guard/release", post(release))
        .route("/metrics", get(metrics))
        .with_state(svc)
}

/// The value behind `m`; a panic elsewhere while holding it does not take the service down.
pub(crate) fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn page(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if svc.protect_reads && !authorised(&svc, &headers) {
        return unauthorised();
    }
    let s = locked(&svc.status).clone();
    let (model, state, battery, decisions) = {
        let core = locked(&svc.core);
        let day = s.last.as_ref().map(|l| l.0.day);
        let decisions = day
            .and_then(|d| {
                core.journal()
                    .events(crate::journal::EventKind::Decision, d)
                    .ok()
            })
            .unwrap_or_default();
        (
            core.model().to_string(),
            *core.state(),
            *core.battery(),
            decisions,
        )
    };
    let mode = match svc.mode {
        Mode::Live => "live",
        Mode::Replay => "replay",
    };
    let errors: Vec<String> = s.errors.iter().cloned().collect();
    let html = crate::page::render(&crate::page::PageInput {
        mode,
        model: &model,
        clock: s.clock,
        data_end: s.data_end,
        soc_mwh: state.soc_mwh,
        energy_mwh: battery.energy_mwh,
        cycles_used: battery.cycles_of(state.throughput_mwh),
        cycles_cap: battery.cycles_per_day,
        pnl_eur: s.pnl_today_eur,
        decisions: &decisions,
        prices: &s.prices_today,
        counts: (
            svc.counters.decisions.load(Ordering::Relaxed),
            svc.counters.fallbacks.load(Ordering::Relaxed),
        ),
        errors: &errors,
        latest_estimate: s.latest_estimate,
        lifecycle: &s.lifecycle,
    });
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

async fn ready(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if svc.protect_reads && !authorised(&svc, &headers) {
        return unauthorised();
    }
    let max_age = locked(&svc.core).safety().max_data_age_min;
    let s = locked(&svc.status);
    let clock = s.clock.unwrap_or_else(Utc::now);
    match s.data_end {
        Some(end) if (clock - end).num_minutes() <= max_age => {
            (StatusCode::OK, "ready\n").into_response()
        }
        Some(end) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: market data ends {end}, {} min ago\n",
                (clock - end).num_minutes()
            ),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no market data yet\n",
        )
            .into_response(),
    }
}

async fn decision(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if svc.protect_reads && !authorised(&svc, &headers) {
        return unauthorised();
    }
    let s = locked(&svc.status);
    match &s.last {
        Some((d, set_point)) => Json(serde_json::json!({
            "at": d.at,
            "power_mw": d.power_mw,
            "proposed_mw": d.proposed_mw,
            "clipped_mw": set_point.clipped_mw,
            "fallback": set_point.fallback,
            "reason": d.fallback.clone().unwrap_or_else(|| "model".into()),
            "duration_h": d.duration_h,
            "data_end": s.data_end,
            "data_age_s": s.data_end.zip(s.clock).map(|(e, c)| (c - e).num_seconds()),
            "model": d.model,
            "scores": d.scores,
        }))
        .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no decision yet\n").into_response(),
    }
}

async fn status(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if svc.protect_reads && !authorised(&svc, &headers) {
        return unauthorised();
    }
    let (model, state, battery) = {
        let core = locked(&svc.core);
        (core.model().to_string(), *core.state(), *core.battery())
    };
    let s = locked(&svc.status).clone();
    Json(serde_json::json!({
        "mode": svc.mode,
        "model": model,
        "clock": s.clock,
        "data_end": s.data_end,
        "soc_mwh": state.soc_mwh,
        "cycles_used_today": battery.cycles_of(state.throughput_mwh),
        "cycles_per_day": battery.cycles_per_day,
        "pnl_today_eur": s.pnl_today_eur,
        "decisions": svc.counters.decisions.load(Ordering::Relaxed),
        "fallbacks": svc.counters.fallbacks.load(Ordering::Relaxed),
        "last_errors": s.errors,
        "lifecycle": s.lifecycle,
    }))
    .into_response()
}

/// An operator gives control back to the model after the guard handed it to a shadow.
async fn release(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if !authorised(&svc, &headers) {
        return unauthorised();
    }
    let at = locked(&svc.status).clock.unwrap_or_else(Utc::now);
    let mut core = locked(&svc.core);
    match core.release(at) {
        Ok(()) => {
            locked(&svc.status).lifecycle = core.lifecycle();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e @ LiveError::Lifecycle(_)) => {
            (StatusCode::CONFLICT, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn telemetry(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Result<Json<TelemetryEvent>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !authorised(&svc, &headers) {
        return unauthorised();
    }
    if svc.mode == Mode::Replay {
        return (
            StatusCode::CONFLICT,
            "replay: the simulated battery reports its own telemetry\n",
        )
            .into_response();
    }
    let Json(t) = match body {
        Ok(b) => b,
        Err(e) => {
            svc.counters
                .telemetry_refused
                .fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, format!("telemetry: {e}\n")).into_response();
        }
    };
    let result = locked(&svc.core).telemetry(t);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e @ LiveError::Telemetry(_)) => {
            svc.counters
                .telemetry_refused
                .fetch_add(1, Ordering::Relaxed);
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{e}\n")).into_response()
        }
        Err(e) => {
            locked(&svc.status).error(&e);
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

async fn metrics(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if svc.protect_reads && !authorised(&svc, &headers) {
        return unauthorised();
    }
    let c = &svc.counters;
    let s = locked(&svc.status);
    let age = s.data_end.map_or(f64::NAN, |e| {
        (s.clock.unwrap_or_else(Utc::now) - e).num_seconds() as f64
    });
    let text = format!(
        "# HELP imbarb_decisions_total Decisions made.\n# TYPE imbarb_decisions_total counter\nimbarb_decisions_total {}\n\
         # HELP imbarb_fallbacks_total Decisions made by the fallback policy.\n# TYPE imbarb_fallbacks_total counter\nimbarb_fallbacks_total {}\n\
         # HELP imbarb_fetch_errors_total Market-data fetches that failed.\n# TYPE imbarb_fetch_errors_total counter\nimbarb_fetch_errors_total {}\n\
         # HELP imbarb_telemetry_refused_total Telemetry messages refused.\n# TYPE imbarb_telemetry_refused_total counter\nimbarb_telemetry_refused_total {}\n\
         # HELP imbarb_fetch_seconds Duration of the latest market-data fetch.\n# TYPE imbarb_fetch_seconds gauge\nimbarb_fetch_seconds {}\n\
         # HELP imbarb_data_age_seconds Age of the newest market data.\n# TYPE imbarb_data_age_seconds gauge\nimbarb_data_age_seconds {age}\n\
         # HELP imbarb_decision_seconds Latency of the latest decision inside the service.\n# TYPE imbarb_decision_seconds gauge\nimbarb_decision_seconds {}\n",
        c.decisions.load(Ordering::Relaxed),
        c.fallbacks.load(Ordering::Relaxed),
        c.fetch_errors.load(Ordering::Relaxed),
        c.telemetry_refused.load(Ordering::Relaxed),
        c.fetch_ns.load(Ordering::Relaxed) as f64 / 1e9,
        c.decision_ns.load(Ordering::Relaxed) as f64 / 1e9,
    );
    let mut text = text;
    text.push_str("# HELP imbarb_fallbacks_by_reason_total Fallback decisions by reason.\n# TYPE imbarb_fallbacks_by_reason_total counter\n");
    for (reason, n) in locked(&c.fallbacks_by_reason).iter() {
        text.push_str(&format!(
            "imbarb_fallbacks_by_reason_total{{reason=\"{reason}\"}} {n}\n"
        ));
    }
    let life = &s.lifecycle;
    text.push_str(&format!(
        "# HELP imbarb_guard_alerts_total Drift-guard alerts since the service started.\n# TYPE imbarb_guard_alerts_total counter\nimbarb_guard_alerts_total {}\n\
         # HELP imbarb_shadow_in_control 1 while a shadow the guard handed control to decides.\n# TYPE imbarb_shadow_in_control gauge\nimbarb_shadow_in_control {}\n\
         # HELP imbarb_drift_warnings Input drift warnings of the latest day.\n# TYPE imbarb_drift_warnings gauge\nimbarb_drift_warnings {}\n",
        life.alerts_total,
        u8::from(life.control != crate::lifecycle::Control::Model),
        life.drift_warnings.len(),
    ));
    text.push_str("# HELP imbarb_window_eur_per_day Mean daily P&L over the guard's window, by policy.\n# TYPE imbarb_window_eur_per_day gauge\n");
    for (policy, eur) in &life.window_eur_per_day {
        if let Some(eur) = eur {
            text.push_str(&format!(
                "imbarb_window_eur_per_day{{policy=\"{policy}\"}} {eur}\n"
            ));
        }
    }
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

/// Serves `svc` on `listener` until the process ends (a runtime of its own, on this thread).
pub fn serve(svc: Arc<Service>, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let l = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(l, router(svc)).await
    })
}
