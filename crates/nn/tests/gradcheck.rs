//! Every gradient of the engine checked against central finite differences of an independent
//! f64 reference implementation (same parameters, naive loops, no shared code).

use imbarb_nn::embedding::EmbeddingCache;
use imbarb_nn::loss::{self, Taus};
use imbarb_nn::mlp::OneScratch;
use imbarb_nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const H: f64 = 1e-5;

fn rand_vec(n: usize, scale: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.gen_range(-1.0..1.0) * scale) as f32)
        .collect()
}

/// Asserts analytic (f32) and numeric (f64) gradients agree.
fn assert_close(what: &str, analytic: &[f32], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: length");
    let scale = numeric.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-3);
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let err = (f64::from(*a) - n).abs();
        assert!(
            err <= 2e-3 * scale + 1e-4 * n.abs(),
            "{what}[{i}]: analytic {a} vs numeric {n} (scale {scale})"
        );
    }
    let dot: f64 = analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| f64::from(*a) * n)
        .sum();
    let na: f64 = analytic
        .iter()
        .map(|a| f64::from(*a).powi(2))
        .sum::<f64>()
        .sqrt();
    let nn: f64 = numeric.iter().map(|n| n * n).sum::<f64>().sqrt();
    assert!(
        nn == 0.0 || dot / (na * nn) > 0.9999,
        "{what}: direction differs (cos {})",
        dot / (na * nn)
    );
}

fn numeric_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = x[i];
            x[i] = orig + H;
            let up = f(&x);
            x[i] = orig - H;
            let down = f(&x);
            x[i] = orig;
            (up - down) / (2.0 * H)
        })
        .collect()
}

fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| f64::from(*x)).collect()
}

/// Reference MLP forward in f64, reading the flat parameter layout documented in `mlp.rs`.
fn ref_forward(cfg: &MlpConfig, p: &[f64], x: &[f64], batch: usize) -> Vec<f64> {
    let widths = cfg.widths();
    let mut a = x.to_vec();
    let mut off = 0;
    for l in 0..widths.len() - 1 {
        let (din, dout) = (widths[l], widths[l + 1]);
        let hidden = l + 2 < widths.len();
        let w = &p[off..off + din * dout];
        let b = &p[off + din * dout..off + din * dout + dout];
        off += din * dout + dout;
        let mut z = vec![0.0; batch * dout];
        for r in 0..batch {
            for j in 0..dout {
                z[r * dout + j] = b[j]
                    + (0..din)
                        .map(|i| a[r * din + i] * w[i * dout + j])
                        .sum::<f64>();
            }
        }
        if cfg.layer_norm && hidden {
            let gain = &p[off..off + dout];
            let shift = &p[off + dout..off + 2 * dout];
            off += 2 * dout;
            for r in 0..batch {
                let row = &mut z[r * dout..(r + 1) * dout];
                let mean = row.iter().sum::<f64>() / dout as f64;
                let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / dout as f64;
                let inv = 1.0 / (var + 1e-5).sqrt();
                for j in 0..dout {
                    row[j] = gain[j] * (row[j] - mean) * inv + shift[j];
                }
            }
        }
        if hidden {
            for v in &mut z {
                *v = match cfg.activation {
                    Activation::Relu => v.max(0.0),
                    Activation::Tanh => v.tanh(),
                };
            }
        }
        a = z;
    }
    a
}

fn check_mlp(cfg: MlpConfig, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut mlp = Mlp::new(cfg.clone(), seed).unwrap();
    // Non-trivial LayerNorm gains and biases so their gradients are exercised.
    let p: Vec<f32> = mlp
        .params()
        .iter()
        .map(|v| v + rng.gen_range(-0.1..0.1))
        .collect();
    mlp.set_params(&p).unwrap();
    let batch = 3;
    let x = rand_vec(batch * cfg.input, 1.0, &mut rng);
    let c = rand_vec(batch * cfg.output, 1.0, &mut rng);
    let mut cache = MlpCache::default();
    let y = mlp.forward(&x, batch, &mut cache).to_vec();
    let y_ref = ref_forward(&cfg, &to64(mlp.params()), &to64(&x), batch);
    for (a, b) in y.iter().zip(&y_ref) {
        assert!(
            (f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()),
            "forward {a} vs {b}"
        );
    }
    // loss = sum c * y  =>  d_out = c.
    let mut grads = mlp.zero_grads();
    let mut dx = vec![0.0; x.len()];
    mlp.backward(&mut cache, &c, &mut grads, Some(&mut dx));
    let c64 = to64(&c);
    let loss_p = |p: &[f64]| -> f64 {
        ref_forward(&cfg, p, &to64(&x), batch)
            .iter()
            .zip(&c64)
            .map(|(a, b)| a * b)
            .sum()
    };
    assert_close(
        "mlp params",
        &grads,
        &numeric_grad(&to64(mlp.params()), loss_p),
    );
    let p64 = to64(mlp.params());
    let loss_x = |x: &[f64]| -> f64 {
        ref_forward(&cfg, &p64, x, batch)
            .iter()
            .zip(&c64)
            .map(|(a, b)| a * b)
            .sum()
    };
    assert_close("mlp input", &dx, &numeric_grad(&to64(&x), loss_x));
    // Gradients accumulate: a second backward doubles them.
    let once = grads.clone();
    mlp.forward(&x, batch, &mut cache);
    mlp.backward(&mut cache, &c, &mut grads, None);
    for (a, b) in grads.iter().zip(&once) {
        assert!((a - 2.0 * b).abs() <= 1e-5 * (1.0 + b.abs()));
    }
    // Single-sample forward equals the batch forward's rows.
    let mut scratch = OneScratch::default();
    let mut out = vec![0.0; cfg.output];
    for r in 0..batch {
        mlp.forward_one(
            &x[r * cfg.input..(r + 1) * cfg.input],
            &mut scratch,
            &mut out,
        );
        for (a, b) in out.iter().zip(&y[r * cfg.output..(r + 1) * cfg.output]) {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "forward_one {a} vs {b}"
            );
        }
    }
}

#[test]
fn relu_mlp_gradients() {
    check_mlp(MlpConfig::relu(5, &[7, 6], 4), 1);
}

#[test]
fn tanh_layer_norm_mlp_gradients() {
    check_mlp(
        MlpConfig {
            input: 4,
            hidden: vec![6, 5],
            output: 3,
            activation: Activation::Tanh,
            layer_norm: true,
            init: Init::Xavier,
        },
        2,
    );
}

#[test]
fn relu_layer_norm_mlp_gradients() {
    check_mlp(
        MlpConfig {
            layer_norm: true,
            ..MlpConfig::relu(6, &[8], 2)
        },
        3,
    );
}

fn ref_huber(u: f64, k: f64) -> f64 {
    if u.abs() <= k {
        0.5 * u * u
    } else {
        k * (u.abs() - 0.5 * k)
    }
}

#[test]
fn mse_and_huber_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let pred = rand_vec(12, 3.0, &mut rng);
    let target = rand_vec(12, 3.0, &mut rng);
    let t64 = to64(&target);
    let mut g = vec![0.0; 12];
    let l = loss::mse(&pred, &target, &mut g);
    let f = |p: &[f64]| {
        p.iter()
            .zip(&t64)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / 12.0
    };
    assert!((f64::from(l) - f(&to64(&pred))).abs() < 1e-5);
    assert_close("mse", &g, &numeric_grad(&to64(&pred), f));
    let l = loss::huber(&pred, &target, 1.0, &mut g);
    let f = |p: &[f64]| {
        p.iter()
            .zip(&t64)
            .map(|(a, b)| ref_huber(a - b, 1.0))
            .sum::<f64>()
            / 12.0
    };
    assert!((f64::from(l) - f(&to64(&pred))).abs() < 1e-5);
    assert_close("huber", &g, &numeric_grad(&to64(&pred), f));
}

/// Reference quantile-Huber loss, written from the formula in f64.
#[allow(clippy::too_many_arguments)]
fn ref_qh(
    pred: &[f64],
    n: usize,
    taus: &[f64],
    shared: bool,
    target: &[f64],
    m: usize,
    kappa: f64,
    w: Option<&[f64]>,
) -> f64 {
    let batch = pred.len() / n;
    let mut total = 0.0;
    for b in 0..batch {
        let mut s = 0.0;
        for i in 0..n {
            let tau = if shared { taus[i] } else { taus[b * n + i] };
            for j in 0..m {
                let u = target[b * m + j] - pred[b * n + i];
                let wt = (tau - if u < 0.0 { 1.0 } else { 0.0 }).abs();
                s += if kappa > 0.0 {
                    wt * ref_huber(u, kappa) / kappa
                } else {
                    wt * u.abs()
                } / m as f64;
            }
        }
        total += w.map_or(1.0, |w| w[b]) * s;
    }
    total / batch as f64
}

#[test]
fn quantile_huber_gradients_fixed_and_sampled_fractions() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (batch, n, m) = (4, 5, 6);
    let pred = rand_vec(batch * n, 2.0, &mut rng);
    let target = rand_vec(batch * m, 2.0, &mut rng);
    let shared = loss::midpoint_taus(n);
    let sampled: Vec<f32> = (0..batch * n).map(|_| rng.gen_range(0.0..1.0)).collect();
    let weights = [0.5f32, 1.0, 2.0, 0.25];
    for kappa in [1.0f32, 0.0, 0.3] {
        for (taus, is_shared) in [
            (Taus::Shared(&shared), true),
            (Taus::PerSample(&sampled), false),
        ] {
            for w in [None, Some(&weights[..])] {
                let mut g = vec![0.0; pred.len()];
                let mut per = vec![0.0; batch];
                let l = loss::quantile_huber(
                    &pred,
                    n,
                    taus,
                    &target,
                    m,
                    kappa,
                    w,
                    &mut g,
                    Some(&mut per),
                );
                let t64 = to64(if is_shared { &shared } else { &sampled });
                let w64 = w.map(to64);
                let f = |p: &[f64]| {
                    ref_qh(
                        p,
                        n,
                        &t64,
                        is_shared,
                        &to64(&target),
                        m,
                        f64::from(kappa),
                        w64.as_deref(),
                    )
                };
                assert!(
                    (f64::from(l) - f(&to64(&pred))).abs() < 1e-5,
                    "loss value, kappa {kappa}"
                );
                assert_close(
                    &format!("quantile huber kappa {kappa}"),
                    &g,
                    &numeric_grad(&to64(&pred), f),
                );
                // Per-sample losses are unweighted and average to the unweighted loss.
                if w.is_none() {
                    assert!((per.iter().sum::<f32>() / batch as f32 - l).abs() < 1e-5);
                }
            }
        }
    }
}

#[test]
fn quantile_huber_by_hand() {
    // One quantile at tau = 0.25, prediction 0, targets {+2, -1}, kappa = 1:
    // u = 2: weight 0.25, Huber 1.5 -> 0.375; u = -1: weight 0.75, Huber 0.5 -> 0.375; mean 0.375.
    let mut g = [0.0f32];
    let l = loss::quantile_huber(
        &[0.0],
        1,
        Taus::Shared(&[0.25]),
        &[2.0, -1.0],
        2,
        1.0,
        None,
        &mut g,
        None,
    );
    assert!((l - 0.375).abs() < 1e-7);
    // Slopes: u = 2 -> -0.25 * 1; u = -1 -> -0.75 * (-1) => mean (0.75 - 0.25) / 2 = 0.25.
    assert!((g[0] - 0.25).abs() < 1e-7);
}

#[test]
fn cross_entropy_softmax_and_log_softmax_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (batch, k) = (3, 5);
    let logits = rand_vec(batch * k, 3.0, &mut rng);
    let mut target = vec![0.0f32; batch * k];
    for row in target.chunks_mut(k) {
        let raw: Vec<f32> = (0..k).map(|_| rng.gen_range(0.0..1.0)).collect();
        let s: f32 = raw.iter().sum();
        row.iter_mut().zip(raw).for_each(|(t, r)| *t = r / s);
    }
    let weights = [1.0f32, 0.5, 2.0];
    let mut g = vec![0.0; logits.len()];
    let l = loss::categorical_cross_entropy(&logits, k, &target, Some(&weights), &mut g, None);
    let t64 = to64(&target);
    let f = |lg: &[f64]| -> f64 {
        let mut total = 0.0;
        for b in 0..batch {
            let row = &lg[b * k..(b + 1) * k];
            let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
            total += f64::from(weights[b])
                * -(0..k).map(|i| t64[b * k + i] * (row[i] - lse)).sum::<f64>();
        }
        total / batch as f64
    };
    assert!((f64::from(l) - f(&to64(&logits))).abs() < 1e-5);
    assert_close("cross entropy", &g, &numeric_grad(&to64(&logits), f));

    let mut probs = vec![0.0; logits.len()];
    loss::softmax(&logits, k, &mut probs);
    for row in probs.chunks(k) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let mut logp = vec![0.0; logits.len()];
    loss::log_softmax(&logits, k, &mut logp);
    for (p, lp) in probs.iter().zip(&logp) {
        assert!((p.ln() - lp).abs() < 1e-5);
    }
    let c = rand_vec(logits.len(), 1.0, &mut rng);
    let mut d = vec![0.0; logits.len()];
    loss::log_softmax_backward(&logp, &c, k, &mut d);
    let c64 = to64(&c);
    let f = |lg: &[f64]| -> f64 {
        let mut total = 0.0;
        for b in 0..batch {
            let row = &lg[b * k..(b + 1) * k];
            let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
            total += (0..k).map(|i| c64[b * k + i] * (row[i] - lse)).sum::<f64>();
        }
        total
    };
    assert_close("log_softmax backward", &d, &numeric_grad(&to64(&logits), f));
}

#[test]
fn cosine_embedding_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut emb = CosineEmbedding::new(6, 5, 7).unwrap();
    let p: Vec<f32> = emb
        .params()
        .iter()
        .map(|v| v + rng.gen_range(-0.3..0.3))
        .collect();
    emb.params_mut().copy_from_slice(&p);
    let taus: Vec<f32> = (0..4).map(|_| rng.gen_range(0.0..1.0)).collect();
    let c = rand_vec(4 * 5, 1.0, &mut rng);
    let mut cache = EmbeddingCache::default();
    emb.forward(&taus, &mut cache);
    let mut g = vec![0.0; emb.params().len()];
    emb.backward(&cache, &c, &mut g);
    let (n_cos, dim) = (6, 5);
    let f = |p: &[f64]| -> f64 {
        let mut total = 0.0;
        for (r, tau) in taus.iter().enumerate() {
            for j in 0..dim {
                let z = p[n_cos * dim + j]
                    + (0..n_cos)
                        .map(|i| {
                            (std::f64::consts::PI * i as f64 * f64::from(*tau)).cos()
                                * p[i * dim + j]
                        })
                        .sum::<f64>();
                total += f64::from(c[r * dim + j]) * z.max(0.0);
            }
        }
        total
    };
    assert_close(
        "cosine embedding",
        &g,
        &numeric_grad(&to64(emb.params()), f),
    );
}

#[test]
fn end_to_end_quantile_network_gradient() {
    // MLP -> quantile-Huber loss: the chain used by QR-DQN, checked as one function.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let cfg = MlpConfig::relu(4, &[8], 6);
    let mlp = Mlp::new(cfg.clone(), 8).unwrap();
    let (batch, n, m) = (3, 6, 6);
    let x = rand_vec(batch * 4, 1.0, &mut rng);
    let target = rand_vec(batch * m, 1.0, &mut rng);
    let taus = loss::midpoint_taus(n);
    let mut cache = MlpCache::default();
    let y = mlp.forward(&x, batch, &mut cache).to_vec();
    let mut dy = vec![0.0; y.len()];
    loss::quantile_huber(
        &y,
        n,
        Taus::Shared(&taus),
        &target,
        m,
        1.0,
        None,
        &mut dy,
        None,
    );
    let mut grads = mlp.zero_grads();
    mlp.backward(&mut cache, &dy, &mut grads, None);
    let f = |p: &[f64]| {
        let out = ref_forward(&cfg, p, &to64(&x), batch);
        ref_qh(&out, n, &to64(&taus), true, &to64(&target), m, 1.0, None)
    };
    assert_close(
        "mlp + quantile huber",
        &grads,
        &numeric_grad(&to64(mlp.params()), f),
    );
}

#[test]
fn selected_head_equals_the_full_head() {
    // forward_selected / backward on the chosen block equal forward / backward with the
    // gradient scattered into that block (the full head's other columns get zero gradient).
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for layer_norm in [false, true] {
        let cfg = MlpConfig {
            layer_norm,
            ..MlpConfig::relu(5, &[9, 7], 4 * 3)
        };
        let mlp = Mlp::new(cfg, 9).unwrap();
        let batch = 6;
        let (block, blocks) = (3, 4);
        let x = rand_vec(batch * 5, 1.0, &mut rng);
        let selected: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..blocks)).collect();
        let d_sel = rand_vec(batch * block, 1.0, &mut rng);

        let mut full_cache = MlpCache::default();
        let full = mlp.forward(&x, batch, &mut full_cache).to_vec();
        let mut d_full = vec![0.0; full.len()];
        for r in 0..batch {
            let c = selected[r];
            d_full[r * 12 + c * block..r * 12 + (c + 1) * block]
                .copy_from_slice(&d_sel[r * block..(r + 1) * block]);
        }
        let mut g_full = mlp.zero_grads();
        let mut dx_full = vec![0.0; x.len()];
        mlp.backward(&mut full_cache, &d_full, &mut g_full, Some(&mut dx_full));

        let mut cache = MlpCache::default();
        let sel = mlp
            .forward_selected(&x, batch, block, &selected, &mut cache)
            .to_vec();
        for r in 0..batch {
            let c = selected[r];
            for j in 0..block {
                let want = full[r * 12 + c * block + j];
                assert!((sel[r * block + j] - want).abs() < 1e-5 * (1.0 + want.abs()));
            }
        }
        let mut g = mlp.zero_grads();
        let mut dx = vec![0.0; x.len()];
        mlp.backward(&mut cache, &d_sel, &mut g, Some(&mut dx));
        for (a, b) in g.iter().zip(&g_full).chain(dx.iter().zip(&dx_full)) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // The cache forgets the selection on a plain forward.
        let again = mlp.forward(&x, batch, &mut cache).to_vec();
        assert_eq!(again.len(), batch * 12);
    }
}
