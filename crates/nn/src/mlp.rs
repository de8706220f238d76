//! Multi-layer perceptrons: Linear layers (He or Xavier init, seeded), ReLU or tanh, optional
//! LayerNorm on hidden layers, a linear output head. Forward and backward sit side by side.
//!
//! Layout: all parameters live in one flat `Vec<f32>`; per layer, the weight `W` is row-major
//! `input x output` (so `y = x W + b`), then the bias, then LayerNorm's gain and shift.

use crate::gemm::{gemm, gemm_views, Mat, View};
use crate::{NnError, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
}

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// He (Kaiming) normal weights: N(0, 2 / fan_in), biases 0; suits ReLU.
    He,
    /// Xavier (Glorot) uniform weights: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), biases 0;
    /// suits tanh.
    Xavier,
    /// PyTorch's `nn.Linear` default: weights and biases U(-b, b), b = 1 / sqrt(fan_in). Smaller
    /// than He by a factor sqrt(6); lets a run start as Stable-Baselines3's networks do.
    Torch,
}

/// Shape and options of an MLP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Input features.
    pub input: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Output width (e.g. actions x quantiles).
    pub output: usize,
    /// Hidden non-linearity.
    pub activation: Activation,
    /// LayerNorm after each hidden linear layer, before the activation.
    pub layer_norm: bool,
    /// Weight initialisation.
    pub init: Init,
}

impl MlpConfig {
    /// A ReLU MLP with He init and no LayerNorm.
    pub fn relu(input: usize, hidden: &[usize], output: usize) -> Self {
        MlpConfig {
            input,
            hidden: hidden.to_vec(),
            output,
            activation: Activation::Relu,
            layer_norm: false,
            init: Init::He,
        }
    }

    /// Layer widths from input to output.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.input];
        w.extend(&self.hidden);
        w.push(self.output);
        w
    }

    /// Number of trainable parameters.
    pub fn num_params(&self) -> usize {
        let w = self.widths();
        w.windows(2)
            .enumerate()
            .map(|(l, p)| {
                let ln = if self.layer_norm && l + 1 < w.len() - 1 {
                    2 * p[1]
                } else {
                    0
                };
                p[0] * p[1] + p[1] + ln
            })
            .sum()
    }

    fn check(&self) -> Result<()> {
        if self.widths().contains(&0) {
            return Err(NnError::Shape(format!(
                "MLP widths must be positive: {:?}",
                self.widths()
            )));
        }
        Ok(())
    }
}

/// Offsets of one layer's parameters in the flat buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slots {
    input: usize,
    output: usize,
    w: usize,
    b: usize,
    /// LayerNorm gain offset (shift follows it).
    ln: Option<usize>,
    hidden: bool,
}

/// An MLP with its parameters in one flat buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    config: MlpConfig,
    params: Vec<f32>,
    slots: Vec<Slots>,
}

/// Activations kept from a batch forward pass for the backward pass, and its scratch buffers.
/// Reused across calls: after the first call with a given batch size it allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct MlpCache {
    batch: usize,
    /// acts[0] = input; acts[l + 1] = output of layer l (post-activation for hidden layers).
    acts: Vec<Vec<f32>>,
    /// Normalised pre-activations of LayerNorm layers.
    xhat: Vec<Vec<f32>>,
    /// 1 / std per row of LayerNorm layers.
    inv_std: Vec<Vec<f32>>,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    /// Set by `forward_selected`: block width and the block chosen for each row.
    selected: Option<(usize, Vec<usize>)>,
    /// Rows grouped by chosen block (a counting sort), and where each block's rows start.
    order: Vec<usize>,
    block_starts: Vec<usize>,
    /// Last hidden layer's rows in `order`, and head values / gradients in `order`.
    gathered: Vec<f32>,
    sorted: Vec<f32>,
    sorted_grad: Vec<f32>,
}

/// Scratch for single-sample forward passes (acting), reused without allocation.
#[derive(Debug, Default, Clone)]
pub struct OneScratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

const LN_EPS: f32 = 1e-5;

impl Mlp {
    /// Builds an MLP with weights (and, for [`Init::Torch`], biases) drawn from a `seed`ed ChaCha
    /// stream; other biases 0, LayerNorm gain 1.
    pub fn new(config: MlpConfig, seed: u64) -> Result<Mlp> {
        config.check()?;
        let slots = Self::layout(&config);
        let mut params = vec![0.0f32; config.num_params()];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for s in &slots {
            let w = &mut params[s.w..s.w + s.input * s.output];
            match config.init {
                Init::He => {
                    let normal = Normal::new(0.0, (2.0 / s.input as f64).sqrt())
                        .map_err(|e| NnError::Shape(e.to_string()))?;
                    w.iter_mut()
                        .for_each(|x| *x = normal.sample(&mut rng) as f32);
                }
                Init::Xavier => {
                    let a = (6.0 / (s.input + s.output) as f64).sqrt();
                    let uniform = Uniform::new_inclusive(-a, a);
                    w.iter_mut()
                        .for_each(|x| *x = uniform.sample(&mut rng) as f32);
                }
                Init::Torch => {
                    let bound = 1.0 / (s.input as f64).sqrt();
                    let uniform = Uniform::new_inclusive(-bound, bound);
                    w.iter_mut()
                        .for_each(|x| *x = uniform.sample(&mut rng) as f32);
                    params[s.b..s.b + s.output]
                        .iter_mut()
                        .for_each(|x| *x = uniform.sample(&mut rng) as f32);
                }
            }
            if let Some(g) = s.ln {
                params[g..g + s.output].fill(1.0);
            }
        }
        Ok(Mlp {
            config,
            params,
            slots,
        })
    }

    fn layout(config: &MlpConfig) -> Vec<Slots> {
        let widths = config.widths();
        let last = widths.len() - 2;
        let mut offset = 0;
        widths
            .windows(2)
            .enumerate()
            .map(|(l, p)| {
                let hidden = l < last;
                let w = offset;
                let b = w + p[0] * p[1];
                offset = b + p[1];
                let ln = (config.layer_norm && hidden).then(|| {
                    let g = offset;
                    offset += 2 * p[1];
                    g
                });
                Slots {
                    input: p[0],
                    output: p[1],
                    w,
                    b,
                    ln,
                    hidden,
                }
            })
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// All parameters, flat.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// All parameters, flat and mutable (optimisers, target updates, checkpoints).
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// A zeroed gradient buffer matching `params`.
    pub fn zero_grads(&self) -> Vec<f32> {
        vec![0.0; self.params.len()]
    }

    /// Input width.
    pub fn input_size(&self) -> usize {
        self.config.input
    }

    /// Output width.
    pub fn output_size(&self) -> usize {
        self.config.output
    }

    /// Forward pass for `batch` rows of `x` (row-major `batch x input`). Returns the output
    /// (`batch x output`), kept in `cache` for `backward`.
    pub fn forward<'c>(&self, x: &[f32], batch: usize, cache: &'c mut MlpCache) -> &'c [f32] {
        self.forward_layers(x, batch, cache, self.slots.len());
        cache.selected = None;
        &cache.acts[self.slots.len()]
    }

    /// Forward pass that evaluates, for row `r`, only output columns
    /// `selected[r] * block .. (selected[r] + 1) * block` of the last layer: the chosen action's
    /// quantiles in a distributional Q-network. Returns `batch x block`. Skipping the other
    /// actions' columns saves most of the head's work in forward and backward; the values equal
    /// the corresponding columns of `forward` (tested).
    pub fn forward_selected<'c>(
        &self,
        x: &[f32],
        batch: usize,
        block: usize,
        selected: &[usize],
        cache: &'c mut MlpCache,
    ) -> &'c [f32] {
        let last = self.slots.len() - 1;
        let s = self.slots[last];
        assert!(
            block > 0 && s.output.is_multiple_of(block),
            "forward_selected: block must divide the output"
        );
        assert_eq!(selected.len(), batch, "forward_selected: one block per row");
        assert!(
            selected.iter().all(|&c| c < s.output / block),
            "forward_selected: block index"
        );
        self.forward_layers(x, batch, cache, last);
        // Group rows by chosen block so each block is one matrix product on a column block of W.
        let blocks = s.output / block;
        cache.block_starts.clear();
        cache.block_starts.resize(blocks + 1, 0);
        for &c in selected {
            cache.block_starts[c + 1] += 1;
        }
        for c in 0..blocks {
            cache.block_starts[c + 1] += cache.block_starts[c];
        }
        cache.order.resize(batch, 0);
        let mut next = cache.block_starts.clone();
        for (r, &c) in selected.iter().enumerate() {
            cache.order[next[c]] = r;
            next[c] += 1;
        }
        let hidden = &cache.acts[last];
        cache.gathered.resize(batch * s.input, 0.0);
        for (dst, &r) in cache.gathered.chunks_exact_mut(s.input).zip(&cache.order) {
            dst.copy_from_slice(&hidden[r * s.input..(r + 1) * s.input]);
        }
        cache.sorted.resize(batch * block, 0.0);
        for c in 0..blocks {
            let (start, end) = (cache.block_starts[c], cache.block_starts[c + 1]);
            let bias = &self.params[s.b + c * block..s.b + (c + 1) * block];
            for row in cache.sorted[start * block..end * block].chunks_exact_mut(block) {
                row.copy_from_slice(bias);
            }
            let a = View {
                data: &cache.gathered,
                offset: start * s.input,
                rows: end - start,
                cols: s.input,
                row_stride: s.input,
                col_stride: 1,
            };
            let w = View {
                data: &self.params,
                offset: s.w + c * block,
                rows: s.input,
                cols: block,
                row_stride: s.output,
                col_stride: 1,
            };
            gemm_views(1.0, a, w, 1.0, &mut cache.sorted, start * block, block, 1);
        }
        let out = &mut cache.acts[last + 1];
        out.resize(batch * block, 0.0);
        for (src, &r) in cache.sorted.chunks_exact(block).zip(&cache.order) {
            out[r * block..(r + 1) * block].copy_from_slice(src);
        }
        let mut sel = cache.selected.take().map(|(_, v)| v).unwrap_or_default();
        sel.clear();
        sel.extend_from_slice(selected);
        cache.selected = Some((block, sel));
        &cache.acts[last + 1]
    }

    /// Runs layers `0..upto`, leaving each layer's output in `cache.acts`.
    fn forward_layers(&self, x: &[f32], batch: usize, cache: &mut MlpCache, upto: usize) {
        assert_eq!(
            x.len(),
            batch * self.config.input,
            "Mlp::forward: input size"
        );
        let n_layers = self.slots.len();
        cache.batch = batch;
        cache.acts.resize_with(n_layers + 1, Vec::new);
        cache.xhat.resize_with(n_layers, Vec::new);
        cache.inv_std.resize_with(n_layers, Vec::new);
        cache.acts[0].clear();
        cache.acts[0].extend_from_slice(x);
        for (l, s) in self.slots.iter().enumerate().take(upto) {
            let (before, after) = cache.acts.split_at_mut(l + 1);
            let input = &before[l];
            let out = &mut after[0];
            out.resize(batch * s.output, 0.0);
            // out = bias (broadcast), then out += input * W.
            let bias = &self.params[s.b..s.b + s.output];
            for row in out.chunks_exact_mut(s.output) {
                row.copy_from_slice(bias);
            }
            gemm(
                1.0,
                Mat::new(input, batch, s.input),
                Mat::new(
                    &self.params[s.w..s.w + s.input * s.output],
                    s.input,
                    s.output,
                ),
                1.0,
                out,
            );
            if let Some(g) = s.ln {
                let xhat = &mut cache.xhat[l];
                let inv_std = &mut cache.inv_std[l];
                xhat.resize(batch * s.output, 0.0);
                inv_std.resize(batch, 0.0);
                let gain = &self.params[g..g + s.output];
                let shift = &self.params[g + s.output..g + 2 * s.output];
                for ((row, xh), is) in out
                    .chunks_exact_mut(s.output)
                    .zip(xhat.chunks_exact_mut(s.output))
                    .zip(inv_std.iter_mut())
                {
                    *is = layer_norm_row(row, xh, gain, shift);
                }
            }
            if s.hidden {
                activate(self.config.activation, out);
            }
        }
    }

    /// Backward pass from `d_out` (gradient of the loss w.r.t. the last forward's output, of
    /// `forward` or `forward_selected`).
    /// Adds parameter gradients into `grads` (zero it first for a fresh gradient) and, when
    /// `d_input` is given, writes the gradient w.r.t. the input there (SAC's dQ/da).
    pub fn backward(
        &self,
        cache: &mut MlpCache,
        d_out: &[f32],
        grads: &mut [f32],
        d_input: Option<&mut [f32]>,
    ) {
        let batch = cache.batch;
        let out_width = cache
            .selected
            .as_ref()
            .map_or(self.config.output, |(b, _)| *b);
        assert_eq!(d_out.len(), batch * out_width, "Mlp::backward: d_out size");
        assert_eq!(grads.len(), self.params.len(), "Mlp::backward: grads size");
        let mut g = std::mem::take(&mut cache.grad_a);
        let mut g_prev = std::mem::take(&mut cache.grad_b);
        g.clear();
        g.extend_from_slice(d_out);
        let last = self.slots.len() - 1;
        let mut layers = last + 1;
        if let Some((block, _)) = &cache.selected {
            // The selected head: one product per block on the grouped rows (see forward_selected).
            let (block, s) = (*block, self.slots[last]);
            cache.sorted_grad.resize(batch * block, 0.0);
            for (dst, &r) in cache.sorted_grad.chunks_exact_mut(block).zip(&cache.order) {
                dst.copy_from_slice(&g[r * block..(r + 1) * block]);
            }
            cache.sorted.resize(batch * s.input, 0.0);
            for c in 0..s.output / block {
                let (start, end) = (cache.block_starts[c], cache.block_starts[c + 1]);
                if start == end {
                    continue;
                }
                let db = &mut grads[s.b + c * block..s.b + (c + 1) * block];
                for row in cache.sorted_grad[start * block..end * block].chunks_exact(block) {
                    db.iter_mut().zip(row).for_each(|(d, r)| *d += r);
                }
                let d = View {
                    data: &cache.sorted_grad,
                    offset: start * block,
                    rows: end - start,
                    cols: block,
                    row_stride: block,
                    col_stride: 1,
                };
                let h_t = View {
                    data: &cache.gathered,
                    offset: start * s.input,
                    rows: s.input,
                    cols: end - start,
                    row_stride: 1,
                    col_stride: s.input,
                };
                // dW[:, block c] += H_c^T D_c
                gemm_views(1.0, h_t, d, 1.0, grads, s.w + c * block, s.output, 1);
                // dH_c = D_c W[:, block c]^T
                let w_t = View {
                    data: &self.params,
                    offset: s.w + c * block,
                    rows: block,
                    cols: s.input,
                    row_stride: 1,
                    col_stride: s.output,
                };
                gemm_views(
                    1.0,
                    d,
                    w_t,
                    0.0,
                    &mut cache.sorted,
                    start * s.input,
                    s.input,
                    1,
                );
            }
            g_prev.clear();
            g_prev.resize(batch * s.input, 0.0);
            for (src, &r) in cache.sorted.chunks_exact(s.input).zip(&cache.order) {
                g_prev[r * s.input..(r + 1) * s.input].copy_from_slice(src);
            }
            std::mem::swap(&mut g, &mut g_prev);
            layers = last;
        }
        for (l, s) in self.slots.iter().enumerate().take(layers).rev() {
            if s.hidden {
                activation_backward(self.config.activation, &cache.acts[l + 1], &mut g);
                if let Some(gain_at) = s.ln {
                    let (gain_grads, shift_grads) =
                        grads[gain_at..gain_at + 2 * s.output].split_at_mut(s.output);
                    let gain = &self.params[gain_at..gain_at + s.output];
                    for ((gr, xh), is) in g
                        .chunks_exact_mut(s.output)
                        .zip(cache.xhat[l].chunks_exact(s.output))
                        .zip(&cache.inv_std[l])
                    {
                        layer_norm_row_backward(gr, xh, *is, gain, gain_grads, shift_grads);
                    }
                }
            }
            let input = &cache.acts[l];
            // dW += input^T g ; db += column sums of g.
            gemm(
                1.0,
                Mat::new(input, batch, s.input).t(),
                Mat::new(&g, batch, s.output),
                1.0,
                &mut grads[s.w..s.w + s.input * s.output],
            );
            let db = &mut grads[s.b..s.b + s.output];
            for row in g.chunks_exact(s.output) {
                db.iter_mut().zip(row).for_each(|(d, r)| *d += r);
            }
            let need_input_grad = l > 0 || d_input.is_some();
            if need_input_grad {
                g_prev.resize(batch * s.input, 0.0);
                gemm(
                    1.0,
                    Mat::new(&g, batch, s.output),
                    Mat::new(
                        &self.params[s.w..s.w + s.input * s.output],
                        s.input,
                        s.output,
                    )
                    .t(),
                    0.0,
                    &mut g_prev,
                );
                std::mem::swap(&mut g, &mut g_prev);
            }
        }
        if let Some(d) = d_input {
            d.copy_from_slice(&g[..batch * self.config.input]);
        }
        cache.grad_a = g;
        cache.grad_b = g_prev;
    }

    /// Forward pass for one sample without allocation (after the scratch's first use): for acting.
    pub fn forward_one(&self, x: &[f32], scratch: &mut OneScratch, out: &mut [f32]) {
        assert_eq!(x.len(), self.config.input, "Mlp::forward_one: input size");
        assert_eq!(
            out.len(),
            self.config.output,
            "Mlp::forward_one: output size"
        );
        scratch.a.clear();
        scratch.a.extend_from_slice(x);
        for s in &self.slots {
            let w = &self.params[s.w..s.w + s.input * s.output];
            scratch.b.clear();
            scratch
                .b
                .extend_from_slice(&self.params[s.b..s.b + s.output]);
            // y += x_i * W[i, :], row by row: contiguous and auto-vectorised.
            for (xi, w_row) in scratch.a.iter().zip(w.chunks_exact(s.output)) {
                for (y, wv) in scratch.b.iter_mut().zip(w_row) {
                    *y += xi * wv;
                }
            }
            if let Some(g) = s.ln {
                let (gain, shift) = (
                    &self.params[g..g + s.output],
                    &self.params[g + s.output..g + 2 * s.output],
                );
                // Reuse `a` as the x-hat scratch: its old contents are no longer needed.
                scratch.a.resize(s.output, 0.0);
                layer_norm_row(&mut scratch.b, &mut scratch.a, gain, shift);
            }
            if s.hidden {
                activate(self.config.activation, &mut scratch.b);
            }
            std::mem::swap(&mut scratch.a, &mut scratch.b);
        }
        out.copy_from_slice(&scratch.a);
    }

    /// Named parameter blocks with their shapes and ranges in the flat buffer
    /// (`layers.{l}.weight` `[input, output]`, `layers.{l}.bias`, `layers.{l}.ln_gain`,
    /// `layers.{l}.ln_shift`), as written to checkpoints.
    pub fn named_blocks(&self) -> Vec<(String, Vec<usize>, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        for (l, s) in self.slots.iter().enumerate() {
            out.push((
                format!("layers.{l}.weight"),
                vec![s.input, s.output],
                s.w..s.b,
            ));
            out.push((
                format!("layers.{l}.bias"),
                vec![s.output],
                s.b..s.b + s.output,
            ));
            if let Some(g) = s.ln {
                out.push((
                    format!("layers.{l}.ln_gain"),
                    vec![s.output],
                    g..g + s.output,
                ));
                out.push((
                    format!("layers.{l}.ln_shift"),
                    vec![s.output],
                    g + s.output..g + 2 * s.output,
                ));
            }
        }
        out
    }

    /// Replaces the parameters (e.g. from a checkpoint); the length must match.
    pub fn set_params(&mut self, params: &[f32]) -> Result<()> {
        if params.len() != self.params.len() {
            return Err(NnError::Shape(format!(
                "expected {} parameters, got {}",
                self.params.len(),
                params.len()
            )));
        }
        self.params.copy_from_slice(params);
        Ok(())
    }
}

fn activate(act: Activation, v: &mut [f32]) {
    match act {
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::Tanh => v.iter_mut().for_each(|x| *x = x.tanh()),
    }
}

/// ReLU's gradient in place: `grad` is kept where the activation `out` is positive and zeroed
/// elsewhere. Every ReLU of the engine and the agents goes through it, so the form that
/// vectorises lives in one place.
pub fn relu_backward(out: &[f32], grad: &mut [f32]) {
    // A select rather than a conditional store: it vectorises (the branchy form took 13 % of
    // DSAC's training time).
    grad.iter_mut()
        .zip(out)
        .for_each(|(g, o)| *g = if *o > 0.0 { *g } else { 0.0 });
}

/// Multiplies `g` by the activation's derivative, from the activation's output `a`.
fn activation_backward(act: Activation, a: &[f32], g: &mut [f32]) {
    match act {
        Activation::Relu => relu_backward(a, g),
        Activation::Tanh => g.iter_mut().zip(a).for_each(|(g, a)| *g *= 1.0 - a * a),
    }
}

/// Normalises `row` in place to `gain * xhat + shift`, storing `xhat`; returns 1 / std.
fn layer_norm_row(row: &mut [f32], xhat: &mut [f32], gain: &[f32], shift: &[f32]) -> f32 {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
    let inv_std = 1.0 / (var + LN_EPS).sqrt();
    for i in 0..row.len() {
        xhat[i] = (row[i] - mean) * inv_std;
        row[i] = gain[i] * xhat[i] + shift[i];
    }
    inv_std
}

/// Turns `g` (gradient w.r.t. the LayerNorm output) into the gradient w.r.t. its input, adding
/// the gain and shift gradients:
/// dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * gain.
fn layer_norm_row_backward(
    g: &mut [f32],
    xhat: &[f32],
    inv_std: f32,
    gain: &[f32],
    d_gain: &mut [f32],
    d_shift: &mut [f32],
) {
    let n = g.len() as f32;
    let (mut mean_d, mut mean_dx) = (0.0f32, 0.0f32);
    for i in 0..g.len() {
        d_gain[i] += g[i] * xhat[i];
        d_shift[i] += g[i];
        let d = g[i] * gain[i];
        mean_d += d;
        mean_dx += d * xhat[i];
        g[i] = d;
    }
    mean_d /= n;
    mean_dx /= n;
    for i in 0..g.len() {
        g[i] = inv_std * (g[i] - mean_d - xhat[i] * mean_dx);
    }
}

#[cfg(test)]
mod init_tests {
    use super::*;

    fn mean_var(x: &[f32]) -> (f64, f64) {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    fn net(init: Init, seed: u64) -> Mlp {
        let mut config = MlpConfig::relu(49, &[256, 128], 3);
        config.init = init;
        Mlp::new(config, seed).expect("valid config")
    }

    #[test]
    fn torch_init_draws_weights_and_biases_within_one_over_root_fan_in() {
        let m = net(Init::Torch, 7);
        for s in &m.slots {
            let bound = 1.0 / (s.input as f32).sqrt();
            let w = &m.params[s.w..s.w + s.input * s.output];
            let b = &m.params[s.b..s.b + s.output];
            assert!(w.iter().chain(b).all(|x| x.abs() <= bound));
            // Uniform on [-b, b]: variance b^2 / 3 (within 10 % on >= 384 draws).
            let (mean, var) = mean_var(w);
            let want = (bound as f64).powi(2) / 3.0;
            assert!(
                mean.abs() < 0.1 * bound as f64,
                "layer {}: mean {mean}",
                s.input
            );
            assert!(
                (var / want - 1.0).abs() < 0.1,
                "layer {}: var {var} vs {want}",
                s.input
            );
            // Biases are drawn too, not left at 0.
            assert!(b.iter().filter(|x| **x != 0.0).count() == b.len());
        }
        assert_eq!(m.params, net(Init::Torch, 7).params);
        assert_ne!(m.params, net(Init::Torch, 8).params);
    }

    #[test]
    fn he_init_leaves_biases_at_zero_with_variance_two_over_fan_in() {
        let m = net(Init::He, 7);
        for s in &m.slots {
            let w = &m.params[s.w..s.w + s.input * s.output];
            assert!(m.params[s.b..s.b + s.output].iter().all(|x| *x == 0.0));
            let (_, var) = mean_var(w);
            let want = 2.0 / s.input as f64;
            assert!(
                (var / want - 1.0).abs() < 0.15,
                "layer {}: var {var} vs {want}",
                s.input
            );
        }
    }
}
