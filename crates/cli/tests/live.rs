//! `imbarb live` (issue #24) in replay mode: the API answers while it runs (decision, status,
//! readiness, metrics; telemetry refused in replay, writes refused without the token), a
//! service killed with SIGKILL mid-day and restarted on its journal decides every decision
//! time exactly once, and `live export` writes the day's ledger.

#[path = "../../fetch/tests/common/mod.rs"]
mod server;

mod common;

use common::{imbarb, stderr, stdout, trained};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    match agent.get(url).call() {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

fn post(url: &str, token: Option<&str>, body: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.send(body).map_or(0, |r| r.status().as_u16())
}

/// Polls until `f` holds, for up to `limit`.
fn until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_replayed_day_serves_the_api_and_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path(), "qr-dqn");
    let port = free_port();
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:{port}\"\ntoken = \"s3cret\"\njournal = \"live/journal.sqlite\"\n\
             [shadow]\nbaselines = [\"rule\"]\n"
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // 96 quarter-hours at 900 s each, 7200x: 12.5 ms a decision.
    let args = [
        "live",
        "--run",
        &run,
        "--config",
        config.to_str().unwrap(),
        "--replay",
        "belgium",
        "--from",
        "2023-08-30",
        "--to",
        "2023-08-30",
        "--speed",
        "7200",
    ];
    let mut first = Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let serving = until(Duration::from_secs(60), || {
        get(&format!("{base}/health")).0 == 200
    });
    assert!(serving, "the API never answered");
    assert!(until(Duration::from_secs(30), || get(&format!(
        "{base}/v1/decision"
    ))
    .0 == 200));
    let (code, body) = get(&format!("{base}/v1/decision"));
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["power_mw"].is_number() && v["reason"] == "model", "{v}");
    // The model's evaluation of the three levels comes with the set-point.
    assert_eq!(v["scores"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(get(&format!("{base}/ready")).0, 200);
    // The status page: one self-contained page with today's chart, nothing fetched.
    let (code, page) = get(&format!("{base}/"));
    assert_eq!(code, 200);
    assert!(
        page.starts_with("<!doctype html>") && page.contains("<svg") && page.contains("<polyline"),
        "{page}"
    );
    assert!(
        page.contains("Set-point:") && !page.contains("src=") && !page.contains("<script"),
        "{page}"
    );
    let (_, metrics) = get(&format!("{base}/metrics"));
    assert!(
        metrics.contains("# TYPE imbarb_decisions_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("imbarb_guard_alerts_total 0")
            && metrics.contains("imbarb_shadow_in_control 0"),
        "{metrics}"
    );
    let (_, status) = get(&format!("{base}/v1/status"));
    let s: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(s["mode"], "replay");
    // The rule shadow is booked beside the model, which decides.
    assert_eq!(s["lifecycle"]["control"]["by"], "model", "{s}");
    let booked: Vec<&str> = s["lifecycle"]["today_eur"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].as_str().unwrap())
        .collect();
    assert_eq!(booked, ["model", "rule"], "{s}");
    // Releasing control needs the token, and the model decides already.
    assert_eq!(post(&format!("{base}/v1/guard/release"), None, ""), 401);
    assert_eq!(
        post(&format!("{base}/v1/guard/release"), Some("s3cret"), ""),
        409
    );
    // Writes need the token; in replay the simulated battery reports, so telemetry is refused.
    let telemetry = r#"{"at": "2023-08-30T12:00:00Z", "soc_mwh": 1.0, "available_mw": null, "throughput_today_mwh": null}"#;
    assert_eq!(post(&format!("{base}/v1/telemetry"), None, telemetry), 401);
    assert_eq!(
        post(&format!("{base}/v1/telemetry"), Some("s3cret"), telemetry),
        409
    );
    // A second service on the same journal is refused, naming the first.
    let second = imbarb(&args);
    assert!(
        stderr(&second).contains(&format!(
            "in use by another imbarb process (pid {})",
            first.id()
        )),
        "{}",
        stderr(&second)
    );

    // Killed mid-day (no chance to clean up)...
    let decided = |s: &str| -> u64 {
        serde_json::from_str::<serde_json::Value>(s)
            .map_or(0, |v| v["decisions"].as_u64().unwrap_or(0))
    };
    assert!(until(Duration::from_secs(30), || decided(
        &get(&format!("{base}/v1/status")).1
    ) >= 10));
    first.kill().unwrap();
    first.wait().unwrap();
    // ...and restarted on the same journal: it finishes the day.
    let o = imbarb(&[
        "live",
        "--run",
        &run,
        "--config",
        config.to_str().unwrap(),
        "--replay",
        "belgium",
        "--from",
        "2023-08-30",
        "--to",
        "2023-08-30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ledger = imbarb(&[
        "live",
        "export",
        "--config",
        config.to_str().unwrap(),
        "--day",
        "2023-08-30",
    ]);
    let csv = String::from_utf8_lossy(&ledger.stdout).to_string();
    let times: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<&&str> = times.iter().collect();
    assert_eq!(times.len(), 96, "{csv}");
    assert_eq!(distinct.len(), 96, "a decision time journaled twice");
    // The replay's end closed the day: one row, the battery's P&L and both books.
    let days = imbarb(&["live", "days", "--config", config.to_str().unwrap()]);
    let csv = stdout(&days);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,control,epoch,sent_eur,model_eur,rule_eur,challenger_eur"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with("2023-08-30,model,0,"), "{csv}");
}

#[test]
fn binding_beyond_loopback_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("live.toml");
    std::fs::write(&config, "bind = \"0.0.0.0:0\"\n").unwrap();
    let run = trained(dir.path(), "qr-dqn");
    let o = imbarb(&[
        "live",
        "--run",
        &run,
        "--config",
        config.to_str().unwrap(),
        "--replay",
        "belgium",
        "--from",
        "2023-08-30",
        "--to",
        "2023-08-30",
    ]);
    assert!(
        stderr(&o).contains("refusing to bind 0.0.0.0:0 (beyond this machine) without a token"),
        "{}",
        stderr(&o)
    );
}

/// Starts `imbarb live` on days-old history against the Elia stand-in scripted with `failures`,
/// and returns what the API says once the first decision is in (or after a minute): (seconds to
/// the first decision, /v1/decision, /ready status, /health status, /metrics, /v1/status).
fn live_against(
    failures: Vec<server::Scripted>,
    test: &str,
    await_fetch_error: bool,
) -> Option<(f64, String, u16, u16, String, String)> {
    let elia = server::Server::ods047(test)?;
    elia.script(&failures);
    let base_url = elia.start();
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path(), "qr-dqn");
    let today = chrono::Utc::now().date_naive();
    let history = dir.path().join("history.csv");
    let from = (today - chrono::TimeDelta::days(6)).to_string();
    let to = (today - chrono::TimeDelta::days(4)).to_string();
    let o = imbarb(&[
        "data",
        "synth",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        history.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let port = free_port();
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:{port}\"\njournal = \"j.sqlite\"\ndata_dir = \"data\"\n\
             history = [\"history.csv\"]\nbase_url = \"{base_url}\"\npoll_seconds = 1\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut service = Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(["live", "--run", &run, "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    until(Duration::from_secs(60), || {
        get(&format!("{base}/v1/decision")).0 == 200
    });
    let first = started.elapsed().as_secs_f64();
    // Let the fetcher fail at least once before reading the counters.
    if await_fetch_error {
        until(Duration::from_secs(30), || {
            get(&format!("{base}/v1/status")).1.contains("fetch ods162")
        });
    }
    let answers = (
        first,
        get(&format!("{base}/v1/decision")).1,
        get(&format!("{base}/ready")).0,
        get(&format!("{base}/health")).0,
        get(&format!("{base}/metrics")).1,
        get(&format!("{base}/v1/status")).1,
    );
    let _ = service.kill();
    let _ = service.wait();
    Some(answers)
}

/// Live, with Elia answering 503 to everything and only days-old history: the service keeps
/// answering, counts the fetch errors, says it is not ready, and idles with the reason.
#[test]
fn live_with_elia_down_idles_with_its_reason_and_keeps_answering() {
    let failures = vec![server::Scripted::Status(503, "down".into()); 1000];
    let Some((_, decision, ready, health, metrics, status)) =
        live_against(failures, "live_with_elia_down", true)
    else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&decision).unwrap();
    assert_eq!(v["power_mw"], 0.0, "{v}");
    assert!(
        v["reason"].as_str().unwrap().starts_with("market data"),
        "{v}"
    );
    assert_eq!((ready, health), (503, 200));
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("imbarb_fetch_errors_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(errors >= 1, "{metrics}");
    assert!(
        status.contains("fetch ods162") && status.contains("HTTP 503"),
        "{status}"
    );
}

/// Live, with Elia stalling every request for a minute: decisions do not wait for it (the
/// fetcher times out on its own thread), and the fallback idles on the stale data meanwhile.
#[test]
fn a_stalled_elia_never_delays_a_decision() {
    let failures = vec![server::Scripted::Stall(60); 50];
    let Some((first, decision, _, health, _, _)) =
        live_against(failures, "a_stalled_elia_never_delays_a_decision", false)
    else {
        return;
    };
    assert!(first < 20.0, "the first decision took {first:.1} s");
    assert_eq!(health, 200);
    let v: serde_json::Value = serde_json::from_str(&decision).unwrap();
    assert!(
        v["reason"].as_str().unwrap().starts_with("market data"),
        "{v}"
    );
}
