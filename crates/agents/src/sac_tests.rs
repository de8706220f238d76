//! Tests of `sac.rs`.

use super::*;
use imbarb_nn::loss::midpoint_taus;

fn actor_loss(logits: &[f32], mask: &[bool], values: &[f32], alpha: f32) -> f32 {
    let (mut p, mut l) = (vec![0.0; logits.len()], vec![0.0; logits.len()]);
    masked_policy(logits, mask, &mut p, &mut l);
    (0..logits.len())
        .map(|a| p[a] * (alpha * l[a] - values[a]))
        .sum()
}

/// The critics' combined distribution is the quantile-wise minimum or average of the two
/// online critics, by `[sac] twin`, and it is what the agent reports and scores.
#[test]
fn twin_critics_combine_by_min_or_mean() {
    let obs = [0.3f32, -1.2];
    for twin in [TwinCombine::Min, TwinCombine::Mean] {
        let mut c = TrainConfig {
            algo: Algo::Dsac,
            ..TrainConfig::default()
        };
        c.network.hidden = vec![8];
        c.distribution.quantiles = 4;
        c.sac.twin = twin;
        let mut sac = Sac::new(&c, 2).expect("agent");
        let [c0, c1] = &mut sac.nets.critics;
        let z0 = c0.online.forward(&obs, 1, &mut c0.cache2).to_vec();
        let z1 = c1.online.forward(&obs, 1, &mut c1.cache2).to_vec();
        assert!(z0.iter().zip(&z1).any(|(a, b)| (a - b).abs() > 1e-3));
        let want: Vec<f32> = z0
            .iter()
            .zip(&z1)
            .map(|(a, b)| match twin {
                TwinCombine::Min => a.min(*b),
                TwinCombine::Mean => 0.5 * (a + b),
            })
            .collect();
        assert_eq!(sac.online_twins(&obs, 1), want, "{twin:?}");
        // The reported distributions (EUR) are the combined quantiles, unscaled.
        let d = sac.distributions(&obs);
        let inv = 1.0 / sac.c.scale as f64;
        let mean0 = want[..4].iter().map(|&x| x as f64 * inv).sum::<f64>() / 4.0;
        assert!((d[0].mean() - mean0).abs() < 1e-6, "{twin:?}");
    }
}

#[test]
fn soft_value_by_hand() {
    // pi = (0.25, 0.75, 0), q = (4, 2, 100 masked), alpha 0.5:
    // 0.25 (4 - 0.5 ln 0.25) + 0.75 (2 - 0.5 ln 0.75).
    let p = [0.25f32, 0.75, 0.0];
    let l = [0.25f32.ln(), 0.75f32.ln(), 0.0];
    let want = 0.25 * (4.0 - 0.5 * 0.25f32.ln()) + 0.75 * (2.0 - 0.5 * 0.75f32.ln());
    assert!((soft_value(&p, &l, &[4.0, 2.0, 100.0], 0.5) - want).abs() < 1e-6);
}

#[test]
fn the_mixture_loss_equals_the_loss_against_pooled_samples() {
    // Weights 1/4 and 3/4 are the same as pooling action 0's samples once and action 1's
    // three times; a masked action (weight 0) adds nothing.
    let taus = midpoint_taus(4);
    let pred = [-0.5f32, 0.1, 0.3, 0.9, 0.0, 0.2, 0.4, 0.6];
    let targets: Vec<f32> = (0..2 * 3 * 4)
        .map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.4)
        .collect();
    let weights = [0.25f32, 0.75, 0.0, 0.75, 0.25, 0.0];
    let mut g = vec![0.0; 8];
    let loss = mixture_quantile_huber(&pred, &taus, 0.5, &targets, &weights, &mut g);
    let mut pooled = vec![];
    for r in 0..2 {
        for (x, copies) in [(0usize, [1, 3][r]), (1, [3, 1][r])] {
            for _ in 0..copies {
                pooled.extend_from_slice(&targets[(r * 3 + x) * 4..(r * 3 + x + 1) * 4]);
            }
        }
    }
    let mut g_ref = vec![0.0; 8];
    let reference = quantile_huber(
        &pred,
        4,
        Taus::Shared(&taus),
        &pooled,
        16,
        0.5,
        None,
        &mut g_ref,
        None,
    );
    assert!((loss - reference).abs() < 1e-6, "{loss} vs {reference}");
    for (a, b) in g.iter().zip(&g_ref) {
        assert!((a - b).abs() < 1e-6, "{g:?} vs {g_ref:?}");
    }
}

#[test]
fn masked_actions_get_zero_probability() {
    let (mut p, mut l) = (vec![0.0; 3], vec![0.0; 3]);
    masked_policy(&[5.0, 1.0, 1.0], &[false, true, true], &mut p, &mut l);
    assert_eq!(p[0], 0.0);
    assert!(
        (p[1] - 0.5).abs() < 1e-6 && (p[2] - 0.5).abs() < 1e-6,
        "{p:?}"
    );
    assert_eq!(entropy(&p, &l), 2f32.ln());
    // By hand: softmax of (0, ln 2, ln 3) is (1, 2, 3) / 6.
    masked_policy(&[0.0, 2f32.ln(), 3f32.ln()], &[], &mut p, &mut l);
    for (got, want) in p.iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
        assert!((got - want).abs() < 1e-6, "{p:?}");
    }
}

#[test]
fn actor_gradient_matches_finite_differences_and_masks() {
    let values = [0.3f32, -0.2, 0.9];
    for (logits, mask) in [
        ([0.1f32, -0.4, 0.7], vec![]),
        ([1.5f32, 0.2, -0.3], vec![true, false, true]),
    ] {
        for alpha in [0.0f32, 0.2, 1.0] {
            let (mut p, mut l) = (vec![0.0; 3], vec![0.0; 3]);
            masked_policy(&logits, &mask, &mut p, &mut l);
            let mut d = vec![0.0; 3];
            let j = actor_loss_gradient(&p, &l, &values, alpha, &mut d);
            assert!((j - actor_loss(&logits, &mask, &values, alpha)).abs() < 1e-6);
            for k in 0..3 {
                let h = 1e-2f32;
                let (mut up, mut down) = (logits, logits);
                up[k] += h;
                down[k] -= h;
                let fd = (actor_loss(&up, &mask, &values, alpha)
                    - actor_loss(&down, &mask, &values, alpha))
                    / (2.0 * h);
                assert!(
                    (d[k] - fd).abs() < 2e-3,
                    "alpha {alpha} mask {mask:?} logit {k}: {} vs {fd}",
                    d[k]
                );
            }
            if !mask.is_empty() {
                assert_eq!(d[1], 0.0);
            }
        }
    }
}
