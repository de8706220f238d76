//! The oracles against brute force and against each other.

use imbarb_baselines::{dp_oracle, lp_oracle, Horizon};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::read_bytes;
use imbarb_sim::{ActionSpace, BatteryConfig, Granularity, InitialSoc, MarketDays};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn days_with(prices: &[Vec<f64>], first: &str) -> MarketDays {
    let mut csv = String::from("timestamp_utc,imbalance_price_eur_mwh\n");
    let mut date: chrono::NaiveDate = first.parse().unwrap();
    let mut dates = vec![];
    for day in prices {
        let starts = day_qh_starts(date);
        for (q, t) in starts.iter().enumerate() {
            csv.push_str(&format!(
                "{},{}\n",
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                day[q % day.len()]
            ));
        }
        dates.push(date);
        date = date.succ_opt().unwrap();
    }
    let data = read_bytes("t.csv", csv.as_bytes()).unwrap();
    MarketDays::new(&data, &dates, Granularity::Qh, 0).unwrap()
}

fn random_days(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..96).map(|_| rng.gen_range(-200.0..400.0)).collect())
        .collect()
}

/// Brute force over all 3^n action sequences of the first `n` quarter-hours (the rest idle),
/// with the DP's feasibility rule (a level runs only if it fits in full).
fn brute_force(prices: &[f64], b: &BatteryConfig, n: usize) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for code in 0..3usize.pow(n as u32) {
        let (mut c, mut soc, mut thr, mut profit, mut ok) =
            (code, b.first_soc_mwh(), 0.0, 0.0, true);
        for p in prices.iter().take(n) {
            let f = ActionSpace::level_fraction(c % 3, 3);
            c /= 3;
            let e = f * 0.25;
            let cell = if e >= 0.0 {
                e / b.discharge_efficiency
            } else {
                -e * b.charge_efficiency
            };
            let next = if e >= 0.0 { soc - cell } else { soc + cell };
            if next < b.soc_min_mwh() - 1e-9
                || next > b.soc_max_mwh() + 1e-9
                || thr + cell > b.daily_throughput_budget_mwh() + 1e-9
            {
                ok = false;
                break;
            }
            soc = next;
            thr += cell;
            profit += p * e;
        }
        if ok {
            best = best.max(profit);
        }
    }
    best
}

#[test]
fn dp_matches_brute_force() {
    for (seed, cap, start) in [
        (1, None, 0.5),
        (2, Some(0.6), 0.5),
        (3, None, 0.1),
        (4, Some(0.3), 0.9),
    ] {
        let mut prices = random_days(1, seed);
        for p in prices[0].iter_mut().skip(9) {
            *p = 0.0; // only the first 9 quarter-hours matter
        }
        let b = BatteryConfig {
            cycles_per_day: cap,
            initial_soc: InitialSoc::Fixed { fraction: start },
            ..BatteryConfig::default()
        };
        let days = days_with(&prices, "2023-06-01");
        let dp = dp_oracle(&days, &[0], &b, 3, Horizon::PerDay).unwrap();
        assert!(dp.exact);
        let bf = brute_force(&prices[0], &b, 9);
        assert!(
            (dp.schedule.total_eur() - bf).abs() < 1e-6,
            "seed {seed}: dp {} vs brute force {bf}",
            dp.schedule.total_eur()
        );
    }
}

#[test]
fn lp_and_dp_agree_where_the_grid_is_exact() {
    // Lossless battery: every LP vertex moves the SoC in whole quarter-hour steps, so the
    // continuous optimum is reachable with full-power levels and the two must agree.
    for (cap, horizon) in [
        (None, Horizon::PerDay),
        (Some(1.0), Horizon::PerDay),
        (None, Horizon::Chained),
    ] {
        let b = BatteryConfig {
            charge_efficiency: 1.0,
            discharge_efficiency: 1.0,
            cycles_per_day: cap,
            ..BatteryConfig::default()
        };
        let days = days_with(&random_days(3, 7), "2023-06-01");
        let lp = lp_oracle(&days, &[0, 1, 2], &b, horizon).unwrap();
        let dp = dp_oracle(&days, &[0, 1, 2], &b, 3, horizon).unwrap();
        assert!(
            (lp.total_eur() - dp.schedule.total_eur()).abs() < 1e-4 * lp.total_eur().abs(),
            "{cap:?} {horizon:?}: lp {} dp {}",
            lp.total_eur(),
            dp.schedule.total_eur()
        );
    }
}

#[test]
fn continuous_optimum_bounds_the_discrete_one() {
    let b = BatteryConfig {
        cycles_per_day: Some(1.1),
        ..BatteryConfig::default()
    };
    let days = days_with(&random_days(2, 9), "2023-06-01");
    let lp = lp_oracle(&days, &[0, 1], &b, Horizon::PerDay).unwrap();
    let dp = dp_oracle(&days, &[0, 1], &b, 3, Horizon::PerDay).unwrap();
    assert!(lp.total_eur() >= dp.schedule.total_eur() - 1e-6);
    assert!(lp.day_cycles.iter().all(|c| *c <= 1.1 + 1e-6));
    assert!(dp.schedule.day_cycles.iter().all(|c| *c <= 1.1 + 1e-9));
    // Five levels can only do better than three.
    let dp5 = dp_oracle(&days, &[0, 1], &b, 5, Horizon::PerDay).unwrap();
    assert!(dp5.schedule.total_eur() >= dp.schedule.total_eur() - 1e-9);
    assert!(lp.total_eur() >= dp5.schedule.total_eur() - 1e-6);
}
