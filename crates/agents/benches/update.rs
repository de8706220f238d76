//! Gradient-update and acting cost of each agent at the default QH-mode settings (nets
//! [256, 128], batch 256, 3 actions, a 24-wide observation): the figures behind training
//! throughput. Prints the median of timed repetitions.
//!
//! Run: `cargo bench -p imbarb-agents --bench update`

use imbarb_agents::build_agent;
use imbarb_agents::config::{Algo, FractionSampling, TrainConfig};
use imbarb_agents::replay::Batch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const WIDTH: usize = 24;

fn batch(rng: &mut ChaCha8Rng, size: usize) -> Batch {
    let mut b = Batch {
        size,
        ..Batch::default()
    };
    for _ in 0..size {
        b.obs
            .extend((0..WIDTH).map(|_| rng.gen_range(-1.0f32..1.0)));
        b.next_obs
            .extend((0..WIDTH).map(|_| rng.gen_range(-1.0f32..1.0)));
        b.actions.push(rng.gen_range(0..3));
        b.rewards.push(rng.gen_range(-1.0f32..1.0));
        b.discounts.push(0.97);
        b.masks.extend([true, true, true]);
        b.next_masks.extend([true, true, true]);
    }
    b
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let b = batch(&mut rng, 256);
    let obs: Vec<f32> = (0..16 * WIDTH)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let paper_risk = imbarb_risk::RiskMeasure::MeanPlusVar {
        alpha: 0.1,
        beta: 3.0,
    };
    let with = |algo, risk| TrainConfig {
        algo,
        risk,
        ..TrainConfig::default()
    };
    let mean = imbarb_risk::RiskMeasure::Mean;
    // IQN as configs/iqn.toml has it (one set of 16 fractions per batch) beside the default
    // N = N' = 8 per sample.
    let mut iqn_shared = with(Algo::Iqn, mean);
    iqn_shared.distribution.iqn_fractions = FractionSampling::SharedStratified;
    iqn_shared.distribution.iqn_n = 16;
    iqn_shared.distribution.iqn_n_prime = 16;
    for (label, config) in [
        ("", with(Algo::Dqn, mean)),
        ("", with(Algo::C51, mean)),
        ("", with(Algo::QrDqn, mean)),
        ("", with(Algo::Iqn, mean)),
        (" (16 shared fractions)", iqn_shared),
        ("", with(Algo::Sac, mean)),
        ("", with(Algo::Dsac, mean)),
        (" (mean + 3 VaR)", with(Algo::Dsac, paper_risk)),
    ] {
        let algo = config.algo;
        let mut agent = build_agent(&config, WIDTH, (-1000.0, 1000.0)).expect("agent");
        for _ in 0..5 {
            agent.update(&b, &mut rng);
        }
        let update: Vec<f64> = (0..40)
            .map(|_| {
                let t = Instant::now();
                agent.update(&b, &mut rng);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let mut scores = vec![];
        let act: Vec<f64> = (0..200)
            .map(|_| {
                let t = Instant::now();
                agent.scores(&obs, 16, &mut scores);
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        println!(
            "imbarb-agents {:>6}{}: update (batch 256) {:.2} ms, act on 16 envs {:.0} us",
            algo.name(),
            label,
            median(update),
            median(act)
        );
    }
}
