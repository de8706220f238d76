//! Losses with their gradients, fused: each returns the loss and writes d(loss)/d(prediction) in
//! the same pass, without intermediate tensors.

/// Mean squared error over all elements: mean((pred - target)^2). Writes the gradient into `grad`.
pub fn mse(pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
    assert!(
        pred.len() == target.len() && pred.len() == grad.len(),
        "mse: sizes"
    );
    let n = pred.len() as f32;
    let mut loss = 0.0f32;
    for ((p, t), g) in pred.iter().zip(target).zip(grad.iter_mut()) {
        let d = p - t;
        loss += d * d;
        *g = 2.0 * d / n;
    }
    loss / n
}

/// The Huber function L_kappa(u) and its derivative: 0.5 u^2 inside |u| <= kappa, linear outside.
#[inline]
fn huber_and_slope(u: f32, kappa: f32) -> (f32, f32) {
    if u.abs() <= kappa {
        (0.5 * u * u, u)
    } else {
        (kappa * (u.abs() - 0.5 * kappa), kappa * u.signum())
    }
}

/// Mean Huber loss over all elements with threshold `kappa` (> 0). Writes the gradient into `grad`.
pub fn huber(pred: &[f32], target: &[f32], kappa: f32, grad: &mut [f32]) -> f32 {
    assert!(
        pred.len() == target.len() && pred.len() == grad.len(),
        "huber: sizes"
    );
    let n = pred.len() as f32;
    let mut loss = 0.0f32;
    for ((p, t), g) in pred.iter().zip(target).zip(grad.iter_mut()) {
        let (l, s) = huber_and_slope(p - t, kappa);
        loss += l;
        *g = s / n;
    }
    loss / n
}

/// Quantile fractions for the quantile-Huber loss.
#[derive(Debug, Clone, Copy)]
pub enum Taus<'a> {
    /// The same `n` fractions for every sample (QR-DQN: (2i + 1) / 2n).
    Shared(&'a [f32]),
    /// Fractions per sample, `batch x n` (IQN, DSAC with sampled fractions).
    PerSample(&'a [f32]),
}

/// QR-DQN's fixed fractions: the midpoints (2i + 1) / (2n), i = 0..n.
pub fn midpoint_taus(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (2 * i + 1) as f32 / (2 * n) as f32)
        .collect()
}

/// The quantile-Huber loss (Dabney et al. 2018, QR-DQN eq. 10 / IQN eq. 3):
///
/// loss = 1/B sum_b w_b sum_i 1/M sum_j |tau_bi - 1{u_bij < 0}| * L_kappa(u_bij) / kappa,
/// u_bij = target_bj - pred_bi,
///
/// with `pred` `batch x n` quantile estimates, `target` `batch x m` target samples, and optional
/// per-sample weights `w_b` (prioritised replay; 1 when `None`). `kappa = 0` gives the plain
/// quantile (pinball) loss. Writes d(loss)/d(pred) into `grad` and, when given, each sample's
/// unweighted loss into `per_sample` (for priorities). The pairwise n x m terms are never stored.
#[allow(clippy::too_many_arguments)]
pub fn quantile_huber(
    pred: &[f32],
    n: usize,
    taus: Taus,
    target: &[f32],
    m: usize,
    kappa: f32,
    weights: Option<&[f32]>,
    grad: &mut [f32],
    mut per_sample: Option<&mut [f32]>,
) -> f32 {
    assert!(
        n > 0 && m > 0 && pred.len().is_multiple_of(n),
        "quantile_huber: sizes"
    );
    let batch = pred.len() / n;
    assert_eq!(target.len(), batch * m, "quantile_huber: target size");
    assert_eq!(grad.len(), pred.len(), "quantile_huber: grad size");
    match taus {
        Taus::Shared(t) => assert_eq!(t.len(), n, "quantile_huber: taus size"),
        Taus::PerSample(t) => assert_eq!(t.len(), batch * n, "quantile_huber: taus size"),
    }
    let inv_m = 1.0 / m as f32;
    let inv_b = 1.0 / batch as f32;
    // kappa = 0: the pinball loss, whose "Huber" part is |u| with slope sign(u).
    let (k, norm) = if kappa > 0.0 {
        (kappa, 1.0 / kappa)
    } else {
        (f32::INFINITY, 1.0)
    };
    let mut total = 0.0f32;
    // Per-prediction accumulators of the loss and slope sums over the targets. The loop runs
    // targets outer and predictions inner: the inner loop is element-wise over independent
    // accumulators, so it vectorises, and each accumulator still sums its targets in order.
    let (mut l_acc, mut g_acc) = (vec![0.0f32; n], vec![0.0f32; n]);
    for b in 0..batch {
        let w = weights.map_or(1.0, |w| w[b]);
        let targets = &target[b * m..(b + 1) * m];
        let preds = &pred[b * n..(b + 1) * n];
        let row_taus = match taus {
            Taus::Shared(t) => t,
            Taus::PerSample(t) => &t[b * n..(b + 1) * n],
        };
        l_acc.fill(0.0);
        g_acc.fill(0.0);
        for &t in targets {
            let terms = l_acc
                .iter_mut()
                .zip(g_acc.iter_mut())
                .zip(preds.iter().zip(row_taus));
            if kappa > 0.0 {
                // Branch-free: with q = min(|u|, kappa), Huber = q (|u| - q / 2) and its slope
                // is clamp(u, -kappa, kappa); the asymmetric weight selects tau or 1 - tau by
                // the sign of u.
                for ((l, g), (&p, &tau)) in terms {
                    let u = t - p;
                    let a = u.abs();
                    let weight = if u < 0.0 { 1.0 - tau } else { tau };
                    let q = a.min(k);
                    *l += weight * q * (a - 0.5 * q);
                    *g += weight * u.clamp(-k, k);
                }
            } else {
                // The pinball loss: |u| with slope sign(u).
                for ((l, g), (&p, &tau)) in terms {
                    let u = t - p;
                    let weight = if u < 0.0 { 1.0 - tau } else { tau };
                    *l += weight * u.abs();
                    *g += weight
                        * if u < 0.0 {
                            -1.0
                        } else if u > 0.0 {
                            1.0
                        } else {
                            0.0
                        };
                }
            }
        }
        let mut sample_loss = 0.0f32;
        for ((d, l), g) in grad[b * n..(b + 1) * n].iter_mut().zip(&l_acc).zip(&g_acc) {
            sample_loss += l * inv_m * norm;
            // d/dpred of L(t - p) is -L'(u).
            *d = -w * g * inv_m * norm * inv_b;
        }
        if let Some(ps) = per_sample.as_deref_mut() {
            ps[b] = sample_loss;
        }
        total += w * sample_loss;
    }
    total * inv_b
}

/// Row-wise softmax of `logits` (`rows x k`) into `out`, numerically stable.
pub fn softmax(logits: &[f32], k: usize, out: &mut [f32]) {
    assert_eq!(logits.len(), out.len(), "softmax: sizes");
    for (l, o) in logits.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (x, y) in l.iter().zip(o.iter_mut()) {
            *y = (x - max).exp();
            sum += *y;
        }
        o.iter_mut().for_each(|y| *y /= sum);
    }
}

/// Row-wise log-softmax of `logits` (`rows x k`) into `out`, numerically stable.
pub fn log_softmax(logits: &[f32], k: usize, out: &mut [f32]) {
    assert_eq!(logits.len(), out.len(), "log_softmax: sizes");
    for (l, o) in logits.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = max + l.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
        for (x, y) in l.iter().zip(o.iter_mut()) {
            *y = x - lse;
        }
    }
}

/// Back-propagates through a row-wise log-softmax: given the log-probabilities `logp` and the
/// gradient `d_logp`, writes d/dlogits = d_logp - softmax * sum(d_logp) into `d_logits`.
pub fn log_softmax_backward(logp: &[f32], d_logp: &[f32], k: usize, d_logits: &mut [f32]) {
    assert!(
        logp.len() == d_logp.len() && logp.len() == d_logits.len(),
        "log_softmax_backward"
    );
    for ((lp, dl), out) in logp
        .chunks_exact(k)
        .zip(d_logp.chunks_exact(k))
        .zip(d_logits.chunks_exact_mut(k))
    {
        let s: f32 = dl.iter().sum();
        for ((l, d), o) in lp.iter().zip(dl).zip(out.iter_mut()) {
            *o = d - l.exp() * s;
        }
    }
}

/// Categorical cross-entropy for C51 (Bellemare et al. 2017, eq. 7): with `logits` `batch x k`
/// and already-projected target probabilities `target` (rows sum to 1), returns
/// 1/B sum_b w_b * (-sum_k target_bk log softmax(logits_b)_k) and writes the gradient
/// w_b (softmax - target) / B into `grad`; per-sample unweighted losses go to `per_sample`.
pub fn categorical_cross_entropy(
    logits: &[f32],
    k: usize,
    target: &[f32],
    weights: Option<&[f32]>,
    grad: &mut [f32],
    mut per_sample: Option<&mut [f32]>,
) -> f32 {
    assert!(
        logits.len() == target.len()
            && logits.len() == grad.len()
            && logits.len().is_multiple_of(k)
    );
    let batch = logits.len() / k;
    let inv_b = 1.0 / batch as f32;
    let mut total = 0.0;
    for b in 0..batch {
        let l = &logits[b * k..(b + 1) * k];
        let t = &target[b * k..(b + 1) * k];
        let w = weights.map_or(1.0, |w| w[b]);
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum_exp: f32 = l.iter().map(|x| (x - max).exp()).sum();
        let lse = max + sum_exp.ln();
        let t_sum: f32 = t.iter().sum();
        let mut loss = 0.0;
        for i in 0..k {
            let logp = l[i] - lse;
            loss -= t[i] * logp;
            grad[b * k + i] = w * (logp.exp() * t_sum - t[i]) * inv_b;
        }
        if let Some(ps) = per_sample.as_deref_mut() {
            ps[b] = loss;
        }
        total += w * loss;
    }
    total * inv_b
}
