//! Reference check on the real combined file: the perfect-foresight LP reproduces the reference
//! magnitudes (paper battery, paper split, SoC 50 % at the start and carried over, continuous
//! power): ~2,041 EUR/day without a cap and ~998 EUR/day with 1.1 cycles/day, within 1 %.

use imbarb_baselines::{lp_oracle, Horizon};
use imbarb_market::{read_file, Coverage, DaySplits, Split, SplitSpec};
use imbarb_sim::{BatteryConfig, Granularity, MarketDays};
use imbarb_util::testdata::require_shared_data;

fn test_day_average(cap: Option<f64>) -> Option<(f64, f64, f64)> {
    let dir = require_shared_data("lp_reference")?;
    let data = read_file(dir.join("elia_be_imbalance_qh_2022-07_2023-08_combined.csv")).unwrap();
    let cov = Coverage::of(&data);
    let days = MarketDays::new(&data, &cov.complete_days, Granularity::Qh, 0).unwrap();
    let splits = DaySplits::new(&cov, &SplitSpec::Paper);
    let battery = BatteryConfig {
        cycles_per_day: cap,
        ..Default::default()
    };
    let all: Vec<usize> = (0..days.days.len()).collect();
    let t = std::time::Instant::now();
    let s = lp_oracle(&days, &all, &battery, Horizon::Chained).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let test: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| splits.days(Split::Test).contains(&days.days[i].date))
        .collect();
    let avg = test.iter().map(|&i| s.day_profit_eur[i]).sum::<f64>() / test.len() as f64;
    let cycles = test.iter().map(|&i| s.day_cycles[i]).sum::<f64>() / test.len() as f64;
    eprintln!(
        "cap {cap:?}: {} test days, {avg:.1} EUR/day, {cycles:.2} cycles/day, LP {secs:.2} s",
        test.len()
    );
    Some((avg, cycles, secs))
}

#[test]
fn lp_reference_without_cap() {
    let Some((avg, cycles, _)) = test_day_average(None) else {
        return;
    };
    assert!((avg / 2041.0 - 1.0).abs() < 0.01, "{avg}");
    assert!((cycles - 4.7).abs() < 0.3, "{cycles}");
}

#[test]
fn lp_reference_with_cap() {
    let Some((avg, cycles, _)) = test_day_average(Some(1.1)) else {
        return;
    };
    assert!((avg / 998.0 - 1.0).abs() < 0.01, "{avg}");
    assert!(cycles <= 1.1 + 1e-6, "{cycles}");
}
