//! Vectorised-environment throughput (divan): a batch of 256 days stepped in lockstep with
//! discrete actions, in QH and minute mode. `main` first prints the median and best steps per
//! second over many timed episodes (targets:
//! >= 20 M QH-steps/s and >= 2 M minute-steps/s on one thread).
//!
//! Run: `cargo bench -p imbarb-sim --bench env`

use imbarb_market::synth::{generate, SynthParams};
use imbarb_market::Coverage;
use imbarb_sim::*;
use std::time::Instant;

const BATCH: usize = 256;

struct Bench {
    days: MarketDays,
    features: MarketFeatures,
    config: EnvConfig,
}

fn setup(granularity: Granularity) -> Bench {
    let data = generate(
        &SynthParams::embedded().expect("params"),
        "2022-01-01".parse().unwrap(),
        "2022-12-31".parse().unwrap(),
        1,
        false,
    )
    .expect("synthetic market");
    let dates = Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates, granularity, 0).expect("days");
    let train: Vec<usize> = (0..200).collect();
    let config = EnvConfig {
        granularity,
        ..EnvConfig::default()
    };
    let features =
        MarketFeatures::build(&days, &config.observation, granularity, &train).expect("features");
    Bench {
        days,
        features,
        config,
    }
}

/// Runs full episodes of BATCH days; returns the env-steps taken (decisions over all days).
fn episodes(b: &Bench, env: &mut VecEnv, actions: &[Vec<usize>]) -> usize {
    let day_idx: Vec<usize> = (0..BATCH).map(|i| (i * 7) % b.days.days.len()).collect();
    env.reset(&day_idx, &vec![1.0; BATCH]);
    let mut t = 0;
    while !env.all_done() {
        env.step_discrete(&actions[t % actions.len()]);
        t += 1;
    }
    let per_qh = b.config.granularity.decisions_per_qh();
    day_idx
        .iter()
        .map(|&d| b.days.days[d].n_qh() * per_qh)
        .sum()
}

fn random_actions() -> Vec<Vec<usize>> {
    let mut x: u64 = 0x9E3779B97F4A7C15;
    (0..97)
        .map(|_| {
            (0..BATCH)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 3) as usize
                })
                .collect()
        })
        .collect()
}

fn main() {
    for g in [Granularity::Qh, Granularity::Minute] {
        let b = setup(g);
        let mut env = VecEnv::new(&b.days, &b.features, b.config.clone()).expect("env");
        let actions = random_actions();
        episodes(&b, &mut env, &actions);
        // Each episode is timed alone; the median and the best of many are robust to the noise
        // of a shared machine where one long total is not.
        let reps = if g == Granularity::Qh { 200 } else { 20 };
        let mut rates: Vec<f64> = (0..reps)
            .map(|_| {
                let start = Instant::now();
                let steps = episodes(&b, &mut env, &actions);
                steps as f64 / start.elapsed().as_secs_f64() / 1e6
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "imbarb-sim {g:?} env-steps/s at batch {BATCH} (episodes incl. reset, {reps} timed): \
             median {:.1} M, best {:.1} M",
            rates[reps / 2],
            rates[reps - 1]
        );
    }
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn qh_mode_256_days(bencher: divan::Bencher) {
    let b = setup(Granularity::Qh);
    let mut env = VecEnv::new(&b.days, &b.features, b.config.clone()).expect("env");
    let actions = random_actions();
    bencher.bench_local(|| episodes(&b, &mut env, &actions));
}

#[divan::bench(sample_count = 5)]
fn minute_mode_256_days(bencher: divan::Bencher) {
    let b = setup(Granularity::Minute);
    let mut env = VecEnv::new(&b.days, &b.features, b.config.clone()).expect("env");
    let actions = random_actions();
    bencher.bench_local(|| episodes(&b, &mut env, &actions));
}
