//! Oracle timings on the real combined file (418 days, 40,048 quarter-hours): the full-period LP
//! (target < 3 s) and the DP over all days (target < 2 s), uncapped and with 1.1 cycles/day.
//! Prints one line per case (median of 3 runs); skips when ../shared/data is absent.
//!
//! Run: `cargo bench -p imbarb-baselines --bench oracle`

use imbarb_baselines::{dp_oracle, lp_oracle, Horizon};
use imbarb_market::{read_file, Coverage};
use imbarb_sim::{BatteryConfig, Granularity, MarketDays};
use imbarb_util::testdata::shared_data_dir;
use std::time::Instant;

fn median_secs(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..3)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[1]
}

fn main() {
    let Some(dir) = shared_data_dir() else {
        println!("skipped: shared data not found (set IMBARB_SHARED_DATA)");
        return;
    };
    let data =
        read_file(dir.join("elia_be_imbalance_qh_2022-07_2023-08_combined.csv")).expect("read");
    let days = MarketDays::new(
        &data,
        &Coverage::of(&data).complete_days,
        Granularity::Qh,
        0,
    )
    .expect("days");
    let all: Vec<usize> = (0..days.days.len()).collect();
    for cap in [None, Some(1.1)] {
        let b = BatteryConfig {
            cycles_per_day: cap,
            ..BatteryConfig::default()
        };
        let secs = median_secs(|| {
            lp_oracle(&days, &all, &b, Horizon::Chained).expect("lp");
        });
        println!(
            "imbarb-baselines lp_full_period cap={cap:?} days={} seconds={secs:.3}",
            all.len()
        );
        let horizon = if cap.is_some() {
            Horizon::PerDay
        } else {
            Horizon::Chained
        };
        let secs = median_secs(|| {
            dp_oracle(&days, &all, &b, 3, horizon).expect("dp");
        });
        println!("imbarb-baselines dp_all_days cap={cap:?} horizon={horizon:?} days={} seconds={secs:.3}", all.len());
    }
}
