//! Update benchmarks (divan): one QR-DQN update (target forward, online forward, quantile-Huber
//! loss, backward, gradient clipping, Adam) for the big net (40-256-256-672 = 21 actions x 32
//! quantiles, batch 256) and the small net (40-64-64-160 = 5 x 32, batch 64), single-sample acting,
//! and sgemm throughput.
//!
//! Before divan's table, `main` prints one machine-readable summary line per figure
//! (`imbarb-nn <name>_ms=<median>`) and the big update as a fraction of the matmul-bound limit,
//! for `bench/compare.sh` to put beside PyTorch's numbers.
//!
//! Run: `cargo bench -p imbarb-nn --bench update`

use imbarb_nn::gemm::{gemm, Mat};
use imbarb_nn::loss::{self, Taus};
use imbarb_nn::mlp::OneScratch;
use imbarb_nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const OBS: usize = 40;
const QUANTILES: usize = 32;
const GAMMA: f32 = 0.99;

/// Everything one QR-DQN learner owns, with a fixed replay batch.
struct QrDqn {
    online: Mlp,
    target: Mlp,
    adam: Adam,
    online_cache: MlpCache,
    target_cache: MlpCache,
    taus: Vec<f32>,
    actions: usize,
    batch: usize,
    states: Vec<f32>,
    next_states: Vec<f32>,
    chosen: Vec<usize>,
    rewards: Vec<f32>,
    dones: Vec<f32>,
    grads: Vec<f32>,
    d_out: Vec<f32>,
    pred: Vec<f32>,
    d_pred: Vec<f32>,
    targets: Vec<f32>,
    /// Evaluate only the chosen action's quantiles in the online net (`forward_selected`).
    selected_head: bool,
}

impl QrDqn {
    fn new(hidden: usize, actions: usize, batch: usize, selected_head: bool) -> QrDqn {
        let cfg = MlpConfig::relu(OBS, &[hidden, hidden], actions * QUANTILES);
        let online = Mlp::new(cfg, 1).expect("net");
        let target = online.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut v = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect() };
        let states = v(batch * OBS);
        let next_states = v(batch * OBS);
        let rewards = v(batch);
        let n = online.num_params();
        QrDqn {
            adam: Adam::new(
                AdamConfig {
                    lr: 1e-4,
                    ..Default::default()
                },
                n,
            ),
            online,
            target,
            online_cache: MlpCache::default(),
            target_cache: MlpCache::default(),
            taus: loss::midpoint_taus(QUANTILES),
            actions,
            batch,
            states,
            next_states,
            chosen: (0..batch).map(|i| i % actions).collect(),
            rewards,
            dones: (0..batch)
                .map(|i| if i % 50 == 0 { 1.0 } else { 0.0 })
                .collect(),
            grads: vec![0.0; n],
            d_out: vec![0.0; batch * actions * QUANTILES],
            pred: vec![0.0; batch * QUANTILES],
            d_pred: vec![0.0; batch * QUANTILES],
            targets: vec![0.0; batch * QUANTILES],
            selected_head,
        }
    }

    fn update(&mut self) -> f32 {
        let (b, a, n) = (self.batch, self.actions, QUANTILES);
        // Target: r + gamma (1 - done) theta'(s', a*), a* greedy on the target net's means.
        let next = self
            .target
            .forward(&self.next_states, b, &mut self.target_cache);
        for i in 0..b {
            let row = &next[i * a * n..(i + 1) * a * n];
            let best = (0..a)
                .max_by(|&x, &y| {
                    let mx: f32 = row[x * n..(x + 1) * n].iter().sum();
                    let my: f32 = row[y * n..(y + 1) * n].iter().sum();
                    mx.total_cmp(&my)
                })
                .unwrap_or(0);
            for j in 0..n {
                self.targets[i * n + j] =
                    self.rewards[i] + GAMMA * (1.0 - self.dones[i]) * row[best * n + j];
            }
        }
        self.grads.fill(0.0);
        let l = if self.selected_head {
            let pred = self.online.forward_selected(
                &self.states,
                b,
                n,
                &self.chosen,
                &mut self.online_cache,
            );
            let l = loss::quantile_huber(
                pred,
                n,
                Taus::Shared(&self.taus),
                &self.targets,
                n,
                1.0,
                None,
                &mut self.d_pred,
                None,
            );
            self.online
                .backward(&mut self.online_cache, &self.d_pred, &mut self.grads, None);
            l
        } else {
            let out = self.online.forward(&self.states, b, &mut self.online_cache);
            for i in 0..b {
                let c = self.chosen[i];
                self.pred[i * n..(i + 1) * n]
                    .copy_from_slice(&out[i * a * n + c * n..i * a * n + (c + 1) * n]);
            }
            let l = loss::quantile_huber(
                &self.pred,
                n,
                Taus::Shared(&self.taus),
                &self.targets,
                n,
                1.0,
                None,
                &mut self.d_pred,
                None,
            );
            self.d_out.fill(0.0);
            for i in 0..b {
                let c = self.chosen[i];
                self.d_out[i * a * n + c * n..i * a * n + (c + 1) * n]
                    .copy_from_slice(&self.d_pred[i * n..(i + 1) * n]);
            }
            self.online
                .backward(&mut self.online_cache, &self.d_out, &mut self.grads, None);
            l
        };
        clip_grad_norm(&mut self.grads, 10.0);
        self.adam.update(self.online.params_mut(), &self.grads);
        l
    }

    /// Multiply-adds x 2 of one update: target forward, online forward, backward (weight grads
    /// for every layer, input grads for all but the first).
    fn flops(&self) -> f64 {
        let w = self.online.config().widths();
        let macs: usize = w.windows(2).map(|p| p[0] * p[1]).sum();
        let first = w[0] * w[1];
        2.0 * self.batch as f64 * (macs + macs + macs + (macs - first)) as f64
    }
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn sgemm_gflops() -> f64 {
    let n = 256;
    let a = vec![0.5f32; n * n];
    let b = vec![0.25f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let ms = median_ms(51, || {
        gemm(1.0, Mat::new(&a, n, n), Mat::new(&b, n, n), 0.0, &mut c)
    });
    2.0 * (n * n * n) as f64 / (ms * 1e-3) / 1e9
}

fn main() {
    set_threads(1);
    let mut big = QrDqn::new(256, 21, 256, false);
    let big_ms = median_ms(41, || {
        big.update();
    });
    let mut big_sel = QrDqn::new(256, 21, 256, true);
    let big_sel_ms = median_ms(41, || {
        big_sel.update();
    });
    let mut small = QrDqn::new(64, 5, 64, false);
    let small_ms = median_ms(201, || {
        small.update();
    });
    let mut small_sel = QrDqn::new(64, 5, 64, true);
    let small_sel_ms = median_ms(201, || {
        small_sel.update();
    });
    let mut scratch = OneScratch::default();
    let x = vec![0.1f32; OBS];
    let mut out = vec![0.0f32; 5 * QUANTILES];
    let act_us = median_ms(2001, || {
        small.online.forward_one(&x, &mut scratch, &mut out)
    }) * 1e3;
    let gflops = sgemm_gflops();
    set_threads(2);
    let big2_ms = median_ms(41, || {
        big.update();
    });
    set_threads(1);
    let limit_ms = big.flops() / (gflops * 1e9) * 1e3;
    println!("imbarb-nn big_update_1t_ms={big_ms:.3}");
    println!("imbarb-nn big_update_2t_ms={big2_ms:.3}");
    println!("imbarb-nn big_update_selected_head_1t_ms={big_sel_ms:.3}");
    println!("imbarb-nn small_update_1t_ms={small_ms:.4}");
    println!("imbarb-nn small_update_selected_head_1t_ms={small_sel_ms:.4}");
    println!("imbarb-nn small_act_us={act_us:.3}");
    println!("imbarb-nn sgemm_256_gflops={gflops:.2}");
    println!(
        "imbarb-nn big_update_flops={:.3e} matmul_bound_ms={limit_ms:.3} fraction_of_limit={:.2}",
        big.flops(),
        limit_ms / big_ms
    );
    divan::main();
}

#[divan::bench(sample_count = 30)]
fn qrdqn_update_big_net(bencher: divan::Bencher) {
    set_threads(1);
    let mut q = QrDqn::new(256, 21, 256, false);
    bencher.bench_local(|| q.update());
}

#[divan::bench(sample_count = 30)]
fn qrdqn_update_big_net_selected_head(bencher: divan::Bencher) {
    set_threads(1);
    let mut q = QrDqn::new(256, 21, 256, true);
    bencher.bench_local(|| q.update());
}

#[divan::bench(sample_count = 100)]
fn qrdqn_update_small_net(bencher: divan::Bencher) {
    set_threads(1);
    let mut q = QrDqn::new(64, 5, 64, false);
    bencher.bench_local(|| q.update());
}

#[divan::bench(sample_count = 100)]
fn qrdqn_update_small_net_selected_head(bencher: divan::Bencher) {
    set_threads(1);
    let mut q = QrDqn::new(64, 5, 64, true);
    bencher.bench_local(|| q.update());
}

#[divan::bench(sample_count = 1000)]
fn act_single_sample_small_net(bencher: divan::Bencher) {
    let q = QrDqn::new(64, 5, 1, false);
    let mut scratch = OneScratch::default();
    let x = vec![0.1f32; OBS];
    let mut out = vec![0.0f32; 5 * QUANTILES];
    bencher.bench_local(|| {
        q.online
            .forward_one(divan::black_box(&x), &mut scratch, &mut out)
    });
}
