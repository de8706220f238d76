//! Decision latency of a deployed run (issue #23 targets: one decision p99 <= 1 ms for every
//! agent family, load excluded; loading a run <= 200 ms). Each shipped config (its network as
//! shipped) is trained for a few hundred steps on the synthetic market, then decides at 2,000
//! consecutive quarter-hours from the two days published before each, as the live service will.
//! Prints p50 / p99 per family and whether it meets the targets.
//!
//! cargo bench -p imbarb-agents --bench decide

use chrono::TimeDelta;
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_agents::{train, TrainConfig, TrainData, TrainOptions};
use imbarb_market::{Coverage, DaySplits, MarketData, Split, SplitSpec};
use imbarb_sim::{MarketDays, MarketFeatures};
use std::path::Path;
use std::time::Instant;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = imbarb_market::synth::generate(
        &imbarb_market::synth::SynthParams::embedded().expect("params"),
        "2023-01-01".parse().expect("date"),
        "2023-04-30".parse().expect("date"),
        1,
        false,
    )
    .expect("synthetic");
    let dir = tempfile::tempdir().expect("tempdir");
    println!("family   load ms (max of 5)   decide p50 us   p99 us   targets (p99 <= 1000 us, load <= 200 ms)");
    for file in [
        "dqn.toml",
        "c51.toml",
        "qrdqn.toml",
        "iqn.toml",
        "sac.toml",
        "dsac.toml",
    ] {
        let text = std::fs::read_to_string(root.join("configs").join(file)).expect("config");
        let mut config = TrainConfig::from_toml(&text, file).expect("config");
        let t = &mut config.training;
        (
            t.total_steps,
            t.envs,
            t.learning_starts,
            t.batch_size,
            t.validate_every,
        ) = (768, 8, 256, 64, 768);
        config.resolve_for_cap();
        let run = dir.path().join(file);
        train_briefly(&data, &config, &run);
        let mut load_ms: f64 = 0.0;
        let mut decider = None;
        for _ in 0..5 {
            let t0 = Instant::now();
            decider = Some(Decider::load(&run).expect("load"));
            load_ms = load_ms.max(t0.elapsed().as_secs_f64() * 1e3);
        }
        let mut decider = decider.expect("loaded");
        let state = BatteryState {
            soc_mwh: 1.0,
            cycles_used: 0.3,
        };
        let start = data.qh[96 * 10].start_utc;
        let mut us = Vec::with_capacity(2000);
        for i in 0..2000 {
            let at = start + TimeDelta::minutes(15 * i);
            let recent = data.between(at - TimeDelta::days(2), at);
            let t0 = Instant::now();
            let d = decider.decide(&recent, state, Some(at)).expect("decide");
            us.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(d);
        }
        us.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&us, 0.5), percentile(&us, 0.99));
        let ok = p99 <= 1000.0 && load_ms <= 200.0;
        println!(
            "{:<8} {load_ms:>10.1}          {p50:>10.0}   {p99:>8.0}   {}",
            config.algo.name(),
            if ok { "met" } else { "MISSED" }
        );
    }
}

fn train_briefly(data: &MarketData, config: &TrainConfig, run: &Path) {
    let coverage = Coverage::of(data);
    let splits = DaySplits::new(&coverage, &SplitSpec::Paper);
    let days =
        MarketDays::new(data, &coverage.complete_days, config.env.granularity, 0).expect("days");
    let idx = |s: Split| -> Vec<usize> {
        let set = splits.days(s);
        (0..days.days.len())
            .filter(|&i| set.contains(&days.days[i].date))
            .collect()
    };
    let (train_days, validation) = (idx(Split::Train), idx(Split::Validation));
    let features = MarketFeatures::build(
        &days,
        &config.env.observation,
        config.env.granularity,
        &train_days,
    )
    .expect("features");
    let td = TrainData {
        days: &days,
        features: &features,
        train: &train_days,
        validation: &validation,
        data_hash: data.data_hash(),
        forecaster: None,
    };
    train(&td, config, run, &TrainOptions::default()).expect("train");
}
