//! Faults the service meets live (issue #24), driven through its core with a controlled clock:
//! telemetry that stops and returns, a quarter-hour price Elia skips, rows duplicated or out of
//! order in a file, and the two DST days. In each case the service keeps deciding, idles when it
//! must with the reason, and acts on the model again once the inputs are back.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_agents::{train, TrainConfig, TrainOptions};
use imbarb_experiment::{build_setup, DaySet};
use imbarb_live::journal::TelemetryEvent;
use imbarb_live::replay::replay;
use imbarb_live::safety::SafetyConfig;
use imbarb_live::service::LiveCore;
use imbarb_market::source::{load_sources, DataSource};
use imbarb_market::{MarketData, SplitSpec};
use std::path::{Path, PathBuf};

fn trained(dir: &Path) -> PathBuf {
    let text = "algo = \"qr-dqn\"\n[training]\ntotal_steps = 3000\nlearning_starts = 500\n\
                validate_every = 1500\nenvs = 8\n[network]\nhidden = [32, 32]\n";
    let config = TrainConfig::from_toml(text, "test").unwrap();
    let s = build_setup(
        &[DataSource::Belgium],
        &SplitSpec::Paper,
        config.env.clone(),
        0,
        DaySet::Validation,
    )
    .unwrap();
    let run = dir.join("run");
    let data = s.train_data();
    train(&data, &config, &run, &TrainOptions::default()).unwrap();
    run
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn telemetry(core: &mut LiveCore, at: DateTime<Utc>) {
    let soc = core.state().soc_mwh;
    core.telemetry(TelemetryEvent {
        at,
        soc_mwh: soc,
        available_mw: None,
        throughput_today_mwh: None,
    })
    .unwrap();
}

/// The market as published just before `at`.
fn published(market: &MarketData, at: DateTime<Utc>) -> MarketData {
    market
        .between(at - TimeDelta::days(2), at)
        .published_before(at)
}

#[test]
fn telemetry_and_price_gaps_fall_back_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let mut core =
        LiveCore::open(&run, &dir.path().join("j.sqlite"), SafetyConfig::default()).unwrap();
    let start = t("2023-08-30T10:00:00Z");
    telemetry(&mut core, start);
    let (d, _) = core.decide(&published(&market, start), start).unwrap();
    assert_eq!(d.fallback, None);
    // Telemetry stops: 15 minutes later it is too old (5 min allowed).
    let later = start + TimeDelta::minutes(15);
    let (d, s) = core.decide(&published(&market, later), later).unwrap();
    assert_eq!(d.power_mw, 0.0);
    assert!(
        d.fallback
            .as_deref()
            .unwrap()
            .starts_with("telemetry 15 min old"),
        "{d:?} {s:?}"
    );
    // It returns: the model again.
    let next = later + TimeDelta::minutes(15);
    telemetry(&mut core, next);
    assert_eq!(
        core.decide(&published(&market, next), next)
            .unwrap()
            .0
            .fallback,
        None
    );
    // Elia skips the quarter-hour that just ended: a gap in the lags, the fallback idles.
    let gap_at = next + TimeDelta::minutes(15);
    telemetry(&mut core, gap_at);
    let mut skipped = published(&market, gap_at);
    skipped.qh.pop();
    let (d, _) = core.decide(&skipped, gap_at).unwrap();
    assert_eq!(d.power_mw, 0.0);
    assert!(
        d.fallback
            .as_deref()
            .unwrap()
            .contains("a gap in the price lags"),
        "{d:?}"
    );
    // Published late, the price is back and so is the model.
    let back = gap_at + TimeDelta::minutes(15);
    telemetry(&mut core, back);
    assert_eq!(
        core.decide(&published(&market, back), back)
            .unwrap()
            .0
            .fallback,
        None
    );
}

/// Rows duplicated and out of order in a file read as the clean file does, and decide the same.
#[test]
fn duplicated_and_shuffled_rows_decide_as_the_clean_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let market = load_sources(&[DataSource::Belgium]).unwrap();
    let at = t("2023-08-30T12:00:00Z");
    let clean = published(&market, at);
    let text = imbarb_market::write::canonical_qh_csv(&clean);
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    let mut messy: Vec<&str> = lines.iter().rev().copied().collect();
    messy.extend(lines.iter().step_by(7).copied());
    let messy_csv = format!("{header}\n{}\n", messy.join("\n"));
    let read = imbarb_market::read_bytes("messy.csv", messy_csv.as_bytes()).unwrap();
    assert_eq!(read.qh, clean.qh);
    let mut a =
        LiveCore::open(&run, &dir.path().join("a.sqlite"), SafetyConfig::default()).unwrap();
    let mut b =
        LiveCore::open(&run, &dir.path().join("b.sqlite"), SafetyConfig::default()).unwrap();
    telemetry(&mut a, at);
    telemetry(&mut b, at);
    assert_eq!(
        a.decide(&clean, at).unwrap().0.power_mw,
        b.decide(&read, at).unwrap().0.power_mw
    );
}

/// The clock's DST jumps: 92 decisions on the spring-forward day, 100 on the fall-back day,
/// each quarter-hour once, all by the model (on the synthetic market: the embedded prices lack
/// the repeated hour of 2022-10-30, an excluded day).
#[test]
fn dst_days_decide_every_quarter_hour_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let source: DataSource = "synthetic:2022-10-20..2023-04-05:seed=3".parse().unwrap();
    let market = load_sources(&[source]).unwrap();
    for (day, n) in [("2023-03-26", 92), ("2022-10-30", 100)] {
        let mut core = LiveCore::open(
            &run,
            &dir.path().join(format!("{day}.sqlite")),
            SafetyConfig::default(),
        )
        .unwrap();
        let date: NaiveDate = day.parse().unwrap();
        let b = *core.battery();
        let g = core.granularity();
        let out = replay(&mut core, &market, &[date], &b, g, b.first_soc_mwh()).unwrap();
        assert_eq!(out.len(), n, "{day}");
        assert!(
            out.iter()
                .all(|r| r.decision.fallback.is_none() && r.decision.day == date),
            "{day}"
        );
        let times: std::collections::BTreeSet<_> = out.iter().map(|r| r.decision.at).collect();
        assert_eq!(times.len(), n);
        assert_eq!(core.journal().recover(date).unwrap().decisions, n);
    }
}
