//! The service's loops: live (poll Elia, decide at every decision time, serve the API) and
//! replay (the same on recorded data with a simulated clock and battery), and its config.

use crate::http::{check_bind, locked, serve, Counters, Mode, Service, Status};
use crate::journal::{EventKind, FetchEvent};
use crate::replay::Replay;
use crate::safety::SafetyConfig;
use crate::service::LiveCore;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_market::MarketData;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// `live.toml`: where to serve, where to journal, where the data comes from, the safety limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// Address of the HTTP API.
    pub bind: String,
    /// Bearer token for writes (and for everything when bound beyond loopback).
    pub token: Option<String>,
    /// The journal database.
    pub journal: PathBuf,
    /// Where fetched market data is kept (live).
    pub data_dir: PathBuf,
    /// Files with the market's history (the lags the run reads at the start).
    pub history: Vec<PathBuf>,
    /// Elia dataset polled for quarter-hour prices (live).
    pub qh_dataset: String,
    /// Elia dataset polled for per-minute estimates (live, minute runs).
    pub minute_dataset: String,
    /// Seconds between polls (live).
    pub poll_seconds: u64,
    /// Elia's portal (default: $IMBARB_ELIA_URL, else https://opendata.elia.be).
    pub base_url: Option<String>,
    /// The safety layer's limits.
    pub safety: SafetyConfig,
    /// Policies booked beside the model.
    pub shadow: crate::lifecycle::ShadowConfig,
    /// The drift guard.
    pub guard: crate::guard::GuardConfig,
    /// Input drift warnings.
    pub drift: crate::drift::DriftConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            bind: "127.0.0.1:8750".into(),
            token: None,
            journal: "live/journal.sqlite".into(),
            data_dir: "live/data".into(),
            history: vec![],
            qh_dataset: "ods162".into(),
            minute_dataset: "ods161".into(),
            poll_seconds: 60,
            base_url: None,
            safety: SafetyConfig::default(),
            shadow: Default::default(),
            guard: Default::default(),
            drift: Default::default(),
        }
    }
}

impl LiveConfig {
    /// Reads `path`; relative paths inside are relative to its folder.
    pub fn read(path: &Path) -> Result<LiveConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: LiveConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        rebase(&mut c.journal);
        rebase(&mut c.data_dir);
        c.history.iter_mut().for_each(rebase);
        if let Some(p) = &mut c.shadow.challenger {
            rebase(p);
        }
        c.check().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    /// Checks the numbers: the safety limits, and `poll_seconds` (1 s to an hour).
    pub fn check(&self) -> Result<(), String> {
        imbarb_util::range::Range::closed(1.0, 3_600.0)
            .check("poll_seconds", self.poll_seconds as f64)
            .map_err(|e| e.to_string())?;
        self.safety.check()?;
        self.shadow.check()?;
        self.guard.check()?;
        self.drift.check()?;
        if self.guard.handover && self.shadow.baselines.is_empty() {
            return Err(
                "guard.handover = true needs a shadow baseline to hand over to: set shadow.baselines = [\"rule\", \"mpc\"]"
                    .into(),
            );
        }
        Ok(())
    }

    /// The shadows, guard and drift settings.
    pub fn lifecycle(&self) -> crate::service::LifecycleConfig {
        crate::service::LifecycleConfig {
            shadow: self.shadow.clone(),
            guard: self.guard.clone(),
            drift: self.drift.clone(),
        }
    }
}

/// Opens the service for `run_dir` with `config` and binds its API (refused beyond loopback
/// without a token). Returns the service and the bound listener.
pub fn open(
    run_dir: &Path,
    config: &LiveConfig,
    mode: Mode,
) -> Result<(Arc<Service>, std::net::TcpListener), String> {
    let addr: std::net::SocketAddr = config
        .bind
        .parse()
        .map_err(|e| format!("bind = {:?}: {e}", config.bind))?;
    let protect_reads = check_bind(&addr, config.token.as_deref())?;
    // One service per journal: a second would decide every time twice.
    let journal_dir = match config.journal.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let owned = imbarb_util::fs::DirLock::acquire(&journal_dir).map_err(|e| e.to_string())?;
    let core = LiveCore::open_with(
        run_dir,
        &config.journal,
        config.safety.clone(),
        config.lifecycle(),
    )
    .map_err(|e| e.to_string())?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| format!("binding {addr}: {e}"))?;
    let svc = Arc::new(Service {
        core: Mutex::new(core),
        status: Mutex::new(Status::default()),
        counters: Counters::default(),
        token: config.token.clone().filter(|t| !t.is_empty()),
        protect_reads,
        mode,
        owned: Some(owned),
    });
    Ok((svc, listener))
}

/// Replays `days` of `market` through the service, `speed` simulated seconds per real second (0:
/// as fast as it goes), serving the API meanwhile; returns when the replay ends.
pub fn run_replay(
    svc: Arc<Service>,
    listener: std::net::TcpListener,
    market: &MarketData,
    days: &[NaiveDate],
    speed: f64,
) -> Result<(), String> {
    let server = svc.clone();
    std::thread::spawn(move || serve(server, listener));
    let (battery, granularity) = {
        let core = locked(&svc.core);
        (*core.battery(), core.granularity())
    };
    // A replay resumed on its journal continues from the SoC its last set-point left.
    let soc = locked(&svc.core).state().soc_mwh;
    let mut replay = Replay::new(market, days, battery, granularity, soc);
    let pause = if speed > 0.0 {
        std::time::Duration::from_secs_f64(granularity.duration_h() * 3600.0 / speed)
    } else {
        std::time::Duration::ZERO
    };
    let mut day = None;
    loop {
        let started = std::time::Instant::now();
        let step = {
            let mut core = locked(&svc.core);
            let step = replay.step(&mut core, market);
            locked(&svc.status).lifecycle_from(&mut core);
            step
        };
        let r = match step {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                locked(&svc.status).error(&e);
                return Err(e.to_string());
            }
        };
        svc.counters
            .decision(&r.set_point, started.elapsed().as_nanos() as u64);
        {
            let mut s = locked(&svc.status);
            if day != Some(r.decision.day) {
                day = Some(r.decision.day);
                s.pnl_today_eur = 0.0;
                s.prices_today.clear();
            }
            // The quarter-hour that just ended is published now.
            let ended = r.decision.at - TimeDelta::minutes(15);
            if let Some(i) = market.qh_index(ended) {
                if imbarb_market::calendar::local_day(ended) == r.decision.day
                    && s.prices_today.last().is_none_or(|p| p.0 < ended)
                {
                    s.prices_today
                        .push((ended, market.qh[i].price.reference_eur_per_mwh()));
                }
            }
            s.pnl_today_eur += r.profit_eur;
            s.clock = Some(r.decision.at);
            s.data_end = Some(r.decision.at);
            let (_, published) = market.published_counts(r.decision.at);
            s.latest_estimate = published
                .checked_sub(1)
                .and_then(|i| market.minutes.get(i))
                .and_then(|m| Some((m.minute_utc, m.price_estimate_eur_per_mwh?)));
            s.last = Some((r.decision, r.set_point));
        }
        std::thread::sleep(pause);
    }
}

/// The live loop: a fetcher polls Elia for today's prices (and estimates, for minute runs) every
/// `poll_seconds`; every second the service reads what it has and decides for the decision time
/// that has started, once. Serves the API meanwhile; runs until the process ends.
pub fn run_live(
    svc: Arc<Service>,
    listener: std::net::TcpListener,
    config: &LiveConfig,
) -> Result<(), String> {
    let server = svc.clone();
    std::thread::spawn(move || serve(server, listener));
    let minute_run = locked(&svc.core).granularity() == imbarb_sim::Granularity::Minute;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let mut datasets = vec![config.qh_dataset.clone()];
    if minute_run {
        datasets.push(config.minute_dataset.clone());
    }
    // Fetching runs on its own thread: a stalled or failing Elia never delays a decision (the
    // safety layer judges the data's age instead).
    let fetcher = svc.clone();
    let (fetch_config, fetch_sets) = (config.clone(), datasets.clone());
    std::thread::spawn(move || fetch_loop(&fetcher, &fetch_config, &fetch_sets));
    let step = TimeDelta::minutes(if minute_run { 1 } else { 15 });
    let mut last_decided: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        let today = imbarb_market::calendar::local_day(now);
        let at = DateTime::from_timestamp(
            now.timestamp() - now.timestamp().rem_euclid(step.num_seconds()),
            0,
        )
        .unwrap_or(now);
        if last_decided.is_some_and(|t| t >= at) {
            std::thread::sleep(std::time::Duration::from_secs(1));
            continue;
        }
        let mut files = config.history.clone();
        files.extend(
            datasets
                .iter()
                .map(|id| config.data_dir.join(format!("{id}.csv")))
                .filter(|p| p.exists()),
        );
        // Without readable data the decision still happens: the safety layer idles for it.
        let market = imbarb_market::read_files(&files).unwrap_or_else(|e| {
            locked(&svc.status).error(format!("reading market data: {e}"));
            MarketData {
                qh: vec![],
                minutes: vec![],
                day_ahead: vec![],
                meta: imbarb_market::Metadata {
                    market: imbarb_market::Market::BE,
                    pricing: imbarb_market::Pricing::Single,
                    sources: vec![],
                    synthetic: false,
                    duplicates_dropped: 0,
                },
            }
        });
        let started = std::time::Instant::now();
        let decided = {
            let mut core = locked(&svc.core);
            let decided = core.decide(&market, at);
            locked(&svc.status).lifecycle_from(&mut core);
            decided
        };
        match decided {
            Ok((decision, set_point)) => {
                svc.counters
                    .decision(&set_point, started.elapsed().as_nanos() as u64);
                let mut s = locked(&svc.status);
                s.clock = Some(now);
                s.data_end = market
                    .qh
                    .last()
                    .map(|r| r.start_utc + TimeDelta::minutes(15));
                s.prices_today = market
                    .qh
                    .iter()
                    .filter(|r| imbarb_market::calendar::local_day(r.start_utc) == today)
                    .map(|r| (r.start_utc, r.price.reference_eur_per_mwh()))
                    .collect();
                s.latest_estimate = market
                    .minutes
                    .iter()
                    .rev()
                    .find_map(|m| Some((m.minute_utc, m.price_estimate_eur_per_mwh?)));
                s.last = Some((decision, set_point));
                drop(s);
                let pnl = pnl_estimate(&svc, &market, today);
                locked(&svc.status).pnl_today_eur = pnl;
                locked(&svc.core).set_pnl_today(pnl);
                last_decided = Some(at);
            }
            Err(e) => locked(&svc.status).error(e),
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Fetches `datasets` for yesterday and today into the data folder every `poll_seconds`, each
/// request bounded by a timeout of at most the poll interval (at least 10 s).
fn fetch_loop(svc: &Service, config: &LiveConfig, datasets: &[String]) {
    let mut client_config = imbarb_fetch::ClientConfig::default();
    if let Some(url) = &config.base_url {
        client_config.base_url = url.clone();
    }
    client_config.retry.attempts = 3;
    client_config.timeout = std::time::Duration::from_secs(config.poll_seconds.clamp(10, 120));
    let client = imbarb_fetch::EliaClient::new(client_config);
    loop {
        let today = imbarb_market::calendar::local_day(Utc::now());
        for id in datasets {
            let out = config.data_dir.join(format!("{id}.csv"));
            let started = std::time::Instant::now();
            let fetched = imbarb_fetch::Dataset::find(id).and_then(|dataset| {
                let request = imbarb_fetch::FetchRequest {
                    dataset,
                    from: today.pred_opt().unwrap_or(today),
                    to: today,
                    out,
                };
                imbarb_fetch::fetch(&client, &request, &|_| {}).map_err(|e| e.to_string())
            });
            svc.counters
                .fetch_ns
                .store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            let event = FetchEvent {
                dataset: id.clone(),
                seconds: started.elapsed().as_secs_f64(),
                rows: fetched.as_ref().ok().map(|r| r.total),
                error: fetched.as_ref().err().cloned(),
            };
            let now = Utc::now();
            if let Err(e) = locked(&svc.core)
                .journal()
                .append(EventKind::Fetch, now, today, &event)
            {
                locked(&svc.status).error(e);
            }
            if let Err(e) = fetched {
                svc.counters.fetch_errors.fetch_add(1, Ordering::Relaxed);
                locked(&svc.status).error(format!("fetch {id}: {e}"));
            }
        }
        // Aligned to the clock: with the default 60 s, a poll at the start of every minute.
        let every = config.poll_seconds.max(1) as i64;
        let wait = every - Utc::now().timestamp().rem_euclid(every);
        std::thread::sleep(std::time::Duration::from_secs(wait as u64));
    }
}

/// Today's P&L so far, estimated: each journaled set-point of `day` times the final price of
/// its quarter-hour, where published.
fn pnl_estimate(svc: &Service, market: &MarketData, day: NaiveDate) -> f64 {
    let decisions: Vec<crate::journal::DecisionEvent> = locked(&svc.core)
        .journal()
        .events(EventKind::Decision, day)
        .unwrap_or_default();
    decisions
        .iter()
        .filter_map(|d| {
            let qh =
                DateTime::from_timestamp(d.at.timestamp() - d.at.timestamp().rem_euclid(900), 0)?;
            let i = market.qh_index(qh)?;
            Some(imbarb_sim::settle(
                &market.qh[i].price,
                d.power_mw * d.duration_h,
            ))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<LiveConfig, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("live.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        LiveConfig::read(&path)
    }

    #[test]
    fn lifecycle_settings_are_checked_by_name() {
        let ok =
            read("[shadow]\nbaselines = [\"rule\", \"mpc\"]\n[guard]\nhandover = true\n").unwrap();
        assert_eq!(ok.shadow.baselines.len(), 2);
        let e = read("[guard]\nhandover = true\n").unwrap_err();
        assert!(
            e.contains("live.toml") && e.contains("shadow.baselines"),
            "{e}"
        );
        let e = read("[shadow]\nbaselines = [\"rule\", \"rule\"]\n").unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = read("[shadow]\nbaselines = [\"oracle\"]\n").unwrap_err();
        assert!(e.contains("oracle"), "{e}");
        let e = read("[guard]\nwindow_days = 0\n").unwrap_err();
        assert!(e.contains("guard.window_days"), "{e}");
        let e = read("[drift]\nvolatility_ratio = 0.5\n").unwrap_err();
        assert!(e.contains("drift.volatility_ratio"), "{e}");
        let e = read("[shadow]\nrefit_days = 0\n").unwrap_err();
        assert!(e.contains("shadow.refit_days"), "{e}");
    }
}
