//! Time of one stochastic-MPC decision: the two-stage LP over S price paths of H quarter-hours
//! (the target: S = 50, H = 16 within 50 ms), on random paths around a daily shape.

use imbarb_plan::smpc::{two_stage, Budgets};
use imbarb_sim::BatteryConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

fn paths(s: usize, h: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..s * h)
        .map(|i| 80.0 + 60.0 * ((i % h) as f64 / 3.0).sin() + rng.gen_range(-100.0..100.0))
        .collect()
}

#[divan::bench(args = [10, 20, 50])]
fn two_stage_h16(bencher: divan::Bencher, scenarios: usize) {
    let p = paths(scenarios, 16);
    let b = BatteryConfig {
        cycles_per_day: Some(1.1),
        ..BatteryConfig::default()
    };
    let budget = b.daily_throughput_budget_mwh();
    let budgets = Budgets {
        today_steps: 10,
        today_mwh: budget * 0.5,
        day_mwh: budget,
    };
    bencher.bench(|| two_stage(&p, 16, &b, 1.0, budgets, 70.0).map(|a| a.power_mw));
}
