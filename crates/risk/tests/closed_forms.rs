//! Risk measures against closed forms (normal, uniform, two-point), monotonicity, distortions at
//! known points, and action choice in a bandit with equal means.

use imbarb_risk::measure::{cvar, var};
use imbarb_risk::*;
use proptest::prelude::*;

/// A fine quantile grid of N(mu, sigma): 200,000 midpoint quantiles.
fn normal(mu: f64, sigma: f64) -> Discrete {
    let n = 200_000;
    let v: Vec<f64> = (0..n)
        .map(|i| mu + sigma * normal_quantile((i as f64 + 0.5) / n as f64))
        .collect();
    Discrete::samples(&v).unwrap()
}

#[test]
fn normal_var_and_cvar() {
    let (mu, sigma) = (100.0, 30.0);
    let d = normal(mu, sigma);
    for alpha in [0.05, 0.1, 0.25] {
        let z = normal_quantile(alpha);
        let want_var = mu + sigma * z;
        let want_cvar =
            mu - sigma * (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() / alpha;
        assert!((var(&d, alpha) - want_var).abs() < 1e-2, "VaR {alpha}");
        assert!(
            (cvar(&d, alpha) - want_cvar).abs() < 1e-2,
            "CVaR {alpha}: {} vs {want_cvar}",
            cvar(&d, alpha)
        );
    }
    assert!((d.mean() - mu).abs() < 1e-6);
    assert!((d.std() - sigma).abs() < 1e-2);
    // Wang(eta) of a normal is the normal mean shifted by eta sigma.
    let w = Distortion::Wang { eta: -0.75 }.expectation(&d);
    assert!((w - (mu - 0.75 * sigma)).abs() < 0.05, "{w}");
}

#[test]
fn uniform_closed_forms() {
    let (a, b) = (-50.0, 150.0);
    let n = 100_000;
    let v: Vec<f64> = (0..n)
        .map(|i| a + (b - a) * (i as f64 + 0.5) / n as f64)
        .collect();
    let d = Discrete::samples(&v).unwrap();
    for alpha in [0.1, 0.3, 0.9] {
        assert!((var(&d, alpha) - (a + alpha * (b - a))).abs() < 1e-2);
        assert!((cvar(&d, alpha) - (a + alpha * (b - a) / 2.0)).abs() < 1e-2);
    }
    // CVaR(eta) distortion equals CVaR_eta.
    let g = Distortion::Cvar { eta: 0.25 }.expectation(&d);
    assert!((g - cvar(&d, 0.25)).abs() < 1e-6);
}

#[test]
fn two_point_distribution() {
    // Loss of -100 with probability 0.2, gain of 50 otherwise.
    let d = Discrete::new(&[50.0, -100.0], &[0.8, 0.2]).unwrap();
    assert_eq!(var(&d, 0.1), -100.0);
    assert_eq!(var(&d, 0.2), -100.0);
    assert_eq!(var(&d, 0.3), 50.0);
    assert_eq!(cvar(&d, 0.1), -100.0);
    // alpha = 0.5: (0.2 * -100 + 0.3 * 50) / 0.5 = -10.
    assert!((cvar(&d, 0.5) + 10.0).abs() < 1e-12);
    assert!((d.mean() - 20.0).abs() < 1e-12);
    let paper = RiskMeasure::MeanPlusVar {
        alpha: 0.1,
        beta: 3.0,
    };
    assert!((paper.evaluate(&d) - (20.0 - 300.0)).abs() < 1e-12);
    let mcv = RiskMeasure::MeanPlusCvar {
        alpha: 0.5,
        beta: 1.0,
    };
    assert!((mcv.evaluate(&d) - 10.0).abs() < 1e-12);
    let std = RiskMeasure::MeanMinusStd { lambda: 1.0 }.evaluate(&d);
    assert!((std - (20.0 - 60.0)).abs() < 1e-9);
}

#[test]
fn representations_agree() {
    // QR-DQN midpoints, IQN arbitrary fractions and a categorical form of the same distribution.
    let q = Discrete::samples(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    let t = Discrete::quantiles(&[0.125, 0.375, 0.625, 0.875], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let c = Discrete::categorical(&[4.0, 3.0, 2.0, 1.0], &[0.25, 0.25, 0.25, 0.25]).unwrap();
    assert_eq!(q, t);
    assert_eq!(q, c);
    // Unequal fractions: the value at tau = 0.1 holds [0, 0.3), 0.5 holds [0.3, 0.7), 0.9 the rest.
    let u = Discrete::quantiles(&[0.5, 0.1, 0.9], &[2.0, 1.0, 3.0]).unwrap();
    assert!((u.probs()[0] - 0.3).abs() < 1e-12 && (u.probs()[1] - 0.4).abs() < 1e-12);
    assert!(Discrete::new(&[1.0], &[-1.0]).is_none());
    assert!(Discrete::new(&[f64::NAN], &[1.0]).is_none());
    assert!(Discrete::samples(&[]).is_none());
}

#[test]
fn distortions_at_known_points() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(Distortion::Cvar { eta: 0.25 }.apply(0.5), 0.125));
    assert!(close(
        Distortion::Wang { eta: 0.75 }.apply(0.5),
        normal_cdf(0.75)
    ));
    assert!((normal_cdf(0.75) - 0.773_372_647_623_132).abs() < 1e-12);
    let cpw = 0.5f64.powf(0.71) / (2.0 * 0.5f64.powf(0.71)).powf(1.0 / 0.71);
    assert!(close(Distortion::Cpw { eta: 0.71 }.apply(0.5), cpw));
    // Pow: eta = -2 is risk-averse, 1 - (1 - tau)^(1/3); eta = 2 risk-seeking, tau^(1/3).
    assert!(close(
        Distortion::Pow { eta: -2.0 }.apply(0.5),
        1.0 - 0.5f64.powf(1.0 / 3.0)
    ));
    assert!(close(
        Distortion::Pow { eta: -2.0 }.apply(0.2),
        1.0 - 0.8f64.powf(1.0 / 3.0)
    ));
    assert!(close(
        Distortion::Pow { eta: 2.0 }.apply(0.2),
        0.2f64.powf(1.0 / 3.0)
    ));
    assert!(
        Distortion::Pow { eta: -2.0 }.apply(0.2) < 0.2,
        "negative eta must shift toward the lower tail"
    );
    assert!(close(Distortion::Neutral.apply(0.3), 0.3));
    for g in [
        Distortion::Cvar { eta: 0.1 },
        Distortion::Wang { eta: -0.75 },
        Distortion::Pow { eta: -2.0 },
    ] {
        let d = Discrete::samples(&[-10.0, 0.0, 10.0]).unwrap();
        assert!(g.expectation(&d) < d.mean(), "{g:?} is risk-averse");
    }
    assert!(Distortion::Cvar { eta: 0.0 }.check().is_err());
    assert!(RiskMeasure::Var { alpha: 1.5 }.check().is_err());
}

#[test]
fn averse_measures_pick_the_narrow_arm_and_neutral_is_indifferent() {
    // Equal means (10), different spreads.
    let narrow = Discrete::samples(&[8.0, 9.0, 10.0, 11.0, 12.0]).unwrap();
    let wide = Discrete::samples(&[-40.0, -15.0, 10.0, 35.0, 60.0]).unwrap();
    let arms = [wide.clone(), narrow.clone()];
    assert!(
        (RiskMeasure::Mean.evaluate(&narrow) - RiskMeasure::Mean.evaluate(&wide)).abs() < 1e-12
    );
    for m in [
        RiskMeasure::Var { alpha: 0.1 },
        RiskMeasure::Cvar { alpha: 0.1 },
        RiskMeasure::MeanPlusVar {
            alpha: 0.1,
            beta: 3.0,
        },
        RiskMeasure::MeanMinusStd { lambda: 1.0 },
        RiskMeasure::Distorted(Distortion::Cvar { eta: 0.25 }),
        RiskMeasure::Distorted(Distortion::Wang { eta: -0.75 }),
    ] {
        assert_eq!(m.best_action(&arms, &[]), Some(1), "{m:?}");
    }
    // The mask is respected.
    assert_eq!(
        RiskMeasure::Cvar { alpha: 0.1 }.best_action(&arms, &[true, false]),
        Some(0)
    );
    assert_eq!(RiskMeasure::Mean.best_action(&arms, &[false, false]), None);
}

proptest! {
    #[test]
    fn var_cvar_monotone_in_alpha_and_paper_objective_linear_in_beta(
        values in prop::collection::vec(-1000.0f64..1000.0, 1..40),
        a1 in 0.01f64..1.0, a2 in 0.01f64..1.0, beta in 0.0f64..5.0,
    ) {
        let d = Discrete::samples(&values).unwrap();
        let (lo, hi) = if a1 <= a2 { (a1, a2) } else { (a2, a1) };
        prop_assert!(var(&d, lo) <= var(&d, hi));
        prop_assert!(cvar(&d, lo) <= cvar(&d, hi) + 1e-9);
        prop_assert!(cvar(&d, lo) <= var(&d, lo) + 1e-9);
        prop_assert!(cvar(&d, hi) <= d.mean() + 1e-9);
        let m = RiskMeasure::MeanPlusVar { alpha: lo, beta };
        prop_assert!((m.evaluate(&d) - (d.mean() + beta * var(&d, lo))).abs() < 1e-9);
        // Adding more weight on CVaR never raises the objective relative to the mean by more than
        // beta times the mean.
        let c = RiskMeasure::MeanPlusCvar { alpha: lo, beta }.evaluate(&d);
        prop_assert!(c <= d.mean() * (1.0 + beta) + 1e-6);
    }

    #[test]
    fn distortions_are_monotone_maps_of_the_unit_interval(t1 in 0.0f64..1.0, t2 in 0.0f64..1.0, eta in -3.0f64..3.0) {
        let (lo, hi) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
        for g in [Distortion::Wang { eta }, Distortion::Pow { eta }, Distortion::Cpw { eta: eta.abs().max(0.3) }, Distortion::Cvar { eta: eta.abs().clamp(0.05, 1.0) }] {
            let (a, b) = (g.apply(lo), g.apply(hi));
            prop_assert!((0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&b));
            if !matches!(g, Distortion::Cpw { .. }) {
                prop_assert!(a <= b + 1e-12, "{:?}", g);
            }
        }
    }
}
