//! One VaR / CVaR: the metrics tables report are exactly what the agents' risk measures
//! (imbarb-risk, on the same daily P&L as equally likely samples) compute, and both match a
//! brute-force reading of the definition: VaR_a is the ceil(a n)-th worst day, CVaR_a the mean of
//! the worst a n days with the boundary day counted in part.

use chrono::NaiveDate;
use imbarb_eval::{Backtest, DayPnl, Metrics};
use imbarb_risk::{Discrete, RiskMeasure};
use proptest::prelude::*;

fn backtest_of(daily: &[f64]) -> Backtest {
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).expect("date");
    Backtest {
        policy: "p".into(),
        ledger: vec![],
        days: daily
            .iter()
            .enumerate()
            .map(|(i, &p)| DayPnl {
                date: start + chrono::Days::new(i as u64),
                profit_eur: p,
                cycles: 1.0,
            })
            .collect(),
    }
}

/// The definition read literally on sorted samples.
fn brute_force(daily: &[f64], alpha: f64) -> (f64, f64) {
    let mut v = daily.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let k = (alpha * n - 1e-9).ceil().max(1.0) as usize;
    let var = v[k - 1];
    let whole = (alpha * n + 1e-9).floor() as usize;
    let mut tail: f64 = v[..whole].iter().sum();
    if whole < v.len() {
        tail += (alpha * n - whole as f64).max(0.0) * v[whole];
    }
    (var, tail / (alpha * n))
}

proptest! {
    #[test]
    fn tables_agents_and_the_definition_agree(
        daily in prop::collection::vec(-2000.0f64..3000.0, 1..120)
    ) {
        let m = Metrics::of(&backtest_of(&daily), None, 1.0);
        let samples = Discrete::samples(&daily).expect("finite samples");
        for (alpha, var, cvar) in [(0.05, m.var_5_eur, m.cvar_5_eur), (0.10, m.var_10_eur, m.cvar_10_eur)] {
            prop_assert_eq!(var, RiskMeasure::Var { alpha }.evaluate(&samples));
            prop_assert_eq!(cvar, RiskMeasure::Cvar { alpha }.evaluate(&samples));
            let (bv, bc) = brute_force(&daily, alpha);
            prop_assert_eq!(var, bv);
            prop_assert!((cvar - bc).abs() < 1e-6 * (1.0 + bc.abs()), "{} vs {}", cvar, bc);
            prop_assert!(cvar <= var + 1e-9);
        }
    }
}

#[test]
fn seventy_five_test_days_at_ten_percent() {
    // 75 days valued 1..=75: VaR 10 % is the 8th worst (ceil 7.5); CVaR the worst 7 and half the
    // 8th over 7.5 days.
    let daily: Vec<f64> = (1..=75).map(f64::from).collect();
    let m = Metrics::of(&backtest_of(&daily), None, 1.0);
    assert_eq!(m.var_10_eur, 8.0);
    let want = ((1..=7).sum::<i32>() as f64 + 0.5 * 8.0) / 7.5;
    assert!((m.cvar_10_eur - want).abs() < 1e-12, "{}", m.cvar_10_eur);
}
