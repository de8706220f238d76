//! The running service's targets (issue #24): a decision inside the service (telemetry,
//! decide, safety, journal) p99 <= 5 ms; `GET /v1/decision` p99 <= 2 ms at 200 requests a
//! second; memory steady over a replayed week. A QR-DQN with the shipped network is trained
//! briefly on the synthetic market, then replayed over 7 days through the service core with its
//! journal, then again with the rule and MPC shadows (issue #30), then the API is asked 1,000
//! times at 200 requests a second, all on 127.0.0.1.
//!
//! cargo bench -p imbarb-live --bench service

use imbarb_agents::{train, TrainConfig, TrainData, TrainOptions};
use imbarb_live::http::{router, Counters, Mode, Service, Status};
use imbarb_live::replay::Replay;
use imbarb_live::safety::SafetyConfig;
use imbarb_live::service::LiveCore;
use imbarb_market::{Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::{MarketDays, MarketFeatures};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |pages| pages * 4096.0 / (1 << 20) as f64)
}

fn p(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let data = imbarb_market::synth::generate(
        &imbarb_market::synth::SynthParams::embedded().expect("params"),
        "2023-01-01".parse().expect("date"),
        "2023-04-30".parse().expect("date"),
        1,
        false,
    )
    .expect("synthetic");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("configs/qrdqn.toml")).expect("config");
    let mut config = TrainConfig::from_toml(&text, "qrdqn.toml").expect("config");
    let t = &mut config.training;
    (
        t.total_steps,
        t.envs,
        t.learning_starts,
        t.batch_size,
        t.validate_every,
    ) = (768, 8, 256, 64, 768);
    config.resolve_for_cap();
    let coverage = Coverage::of(&data);
    let splits = DaySplits::new(&coverage, &SplitSpec::Paper);
    let days =
        MarketDays::new(&data, &coverage.complete_days, config.env.granularity, 0).expect("days");
    let idx = |s: Split| -> Vec<usize> {
        let set = splits.days(s);
        (0..days.days.len())
            .filter(|&i| set.contains(&days.days[i].date))
            .collect()
    };
    let (tr, va) = (idx(Split::Train), idx(Split::Validation));
    let features =
        MarketFeatures::build(&days, &config.env.observation, config.env.granularity, &tr)
            .expect("features");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let td = TrainData {
        days: &days,
        features: &features,
        train: &tr,
        validation: &va,
        data_hash: data.data_hash(),
        forecaster: None,
    };
    train(&td, &config, &run, &TrainOptions::default()).expect("train");

    let journal = dir.path().join("journal.sqlite");
    let mut core = LiveCore::open(&run, &journal, SafetyConfig::default()).expect("core");
    let week: Vec<chrono::NaiveDate> = imbarb_market::calendar::days_inclusive(
        "2023-03-01".parse().expect("date"),
        "2023-03-07".parse().expect("date"),
    )
    .collect();
    let b = config.env.battery;
    let mut replay = Replay::new(&data, &week, b, config.env.granularity, b.first_soc_mwh());
    let mut us = vec![];
    let mut rss = vec![];
    loop {
        let t0 = Instant::now();
        let Some(_) = replay.step(&mut core, &data).expect("step") else {
            break;
        };
        us.push(t0.elapsed().as_secs_f64() * 1e6);
        if us.len() % 96 == 0 {
            rss.push(rss_mib());
        }
    }
    us.sort_by(f64::total_cmp);
    let (p50, p99) = (p(&us, 0.5), p(&us, 0.99));
    println!(
        "decision in the service ({} over a week, journal included): p50 {p50:.0} us, p99 {p99:.0} us (target <= 5000 us: {})",
        us.len(),
        if p99 <= 5000.0 { "met" } else { "MISSED" }
    );
    let growth = rss.last().copied().unwrap_or(0.0) - rss.get(1).copied().unwrap_or(0.0);
    println!(
        "resident memory at the end of each day: {} MiB (day 2 to day 7: {growth:+.1} MiB)",
        rss.iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The same week with the rule and MPC shadows booked beside the model (issue #30): each
    // decision also runs both shadows; each day's first also refits them on the last 28 days.
    let lifecycle = imbarb_live::service::LifecycleConfig {
        shadow: imbarb_live::lifecycle::ShadowConfig {
            baselines: vec![
                imbarb_live::shadow::BaselineKind::Rule,
                imbarb_live::shadow::BaselineKind::Mpc,
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    let mut shadowed = LiveCore::open_with(
        &run,
        &dir.path().join("shadowed.sqlite"),
        SafetyConfig::default(),
        lifecycle,
    )
    .expect("core");
    let mut replay = Replay::new(&data, &week, b, config.env.granularity, b.first_soc_mwh());
    let mut with = vec![];
    loop {
        let t0 = Instant::now();
        let Some(_) = replay.step(&mut shadowed, &data).expect("step") else {
            break;
        };
        with.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    with.sort_by(f64::total_cmp);
    println!(
        "with the rule and MPC shadows: p50 {:.0} us, p99 {:.0} us, max {:.0} us (a day's first decision refits both); p50 {:.1}x the model alone",
        p(&with, 0.5),
        p(&with, 0.99),
        with.last().copied().unwrap_or(f64::NAN),
        p(&with, 0.5) / p50
    );

    let at = week[0].and_hms_opt(12, 0, 0).expect("time").and_utc();
    let decision = core.decide(&data, at).expect("decision");
    let svc = Arc::new(Service {
        core: Mutex::new(core),
        status: Mutex::new(Status::default()),
        counters: Counters::default(),
        token: None,
        protect_reads: false,
        mode: Mode::Replay,
        owned: None,
    });
    svc.status.lock().expect("status").last = Some(decision);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = svc.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let l = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(l, router(server)).await;
        });
    });
    std::thread::sleep(Duration::from_millis(200));
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let url = format!("http://{addr}/v1/decision");
    let mut ms = vec![];
    let start = Instant::now();
    for i in 0..1000u64 {
        // 200 a second: request i leaves at i x 5 ms.
        let due = start + Duration::from_millis(5 * i);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t0 = Instant::now();
        let body = agent
            .get(&url)
            .call()
            .expect("GET")
            .body_mut()
            .read_to_string()
            .expect("body");
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(body);
    }
    ms.sort_by(f64::total_cmp);
    let (p50, p99) = (p(&ms, 0.5), p(&ms, 0.99));
    println!(
        "GET /v1/decision at 200/s: p50 {p50:.2} ms, p99 {p99:.2} ms (target <= 2 ms: {})",
        if p99 <= 2.0 { "met" } else { "MISSED" }
    );
}
