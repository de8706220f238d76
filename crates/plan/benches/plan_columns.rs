//! Time of one quarter-hour's planner columns: the backward pass over H quarter-hours on the
//! energy grid and the values at the columns' states of charge (paid once per quarter-hour of a
//! setup, so a year of quarter-hours costs 35,040 of these).

use imbarb_plan::plan_columns::advantages;
use imbarb_sim::BatteryConfig;

fn main() {
    divan::main();
}

#[divan::bench(args = [4, 16, 64])]
fn advantages_9_states(bencher: divan::Bencher, horizon: usize) {
    let prices: Vec<f64> = (0..horizon)
        .map(|t| 80.0 + 60.0 * (t as f64 / 3.0).sin())
        .collect();
    let b = BatteryConfig::default();
    let at: Vec<f64> = (0..9).map(|i| 0.25 * i as f64).collect();
    bencher.bench(|| advantages(&prices, &b, 70.0, &at));
}
