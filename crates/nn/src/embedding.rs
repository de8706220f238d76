//! IQN's cosine embedding of quantile fractions (Dabney et al. 2018, eq. 4):
//! phi(tau)_j = ReLU( sum_{i=0}^{n-1} cos(pi * i * tau) * w_ij + b_j ).
//! The agent multiplies it element-wise with the state embedding.

use crate::gemm::{gemm, Mat};
use crate::Result;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// The cosine embedding layer: `n_cos` cosine features to `dim` outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineEmbedding {
    n_cos: usize,
    dim: usize,
    /// `W` (`n_cos x dim`, row-major) then `b` (`dim`).
    params: Vec<f32>,
}

/// Values kept from `forward` for `backward`.
#[derive(Debug, Default, Clone)]
pub struct EmbeddingCache {
    rows: usize,
    cos: Vec<f32>,
    out: Vec<f32>,
}

impl CosineEmbedding {
    /// A layer with Xavier-uniform weights from a `seed`ed stream and zero biases.
    pub fn new(n_cos: usize, dim: usize, seed: u64) -> Result<CosineEmbedding> {
        if n_cos == 0 || dim == 0 {
            return Err(crate::NnError::Shape(
                "cosine embedding sizes must be positive".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = (6.0 / (n_cos + dim) as f64).sqrt();
        let u = Uniform::new_inclusive(-a, a);
        let mut params: Vec<f32> = (0..n_cos * dim)
            .map(|_| u.sample(&mut rng) as f32)
            .collect();
        params.extend(std::iter::repeat_n(0.0, dim));
        Ok(CosineEmbedding { n_cos, dim, params })
    }

    /// Output width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of cosine features.
    pub fn n_cos(&self) -> usize {
        self.n_cos
    }

    /// Parameters, flat.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Parameters, flat and mutable.
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Embeds each fraction in `taus`; returns `taus.len() x dim`, kept in `cache`.
    pub fn forward<'c>(&self, taus: &[f32], cache: &'c mut EmbeddingCache) -> &'c [f32] {
        let rows = taus.len();
        cache.rows = rows;
        cache.cos.resize(rows * self.n_cos, 0.0);
        for (row, tau) in cache.cos.chunks_exact_mut(self.n_cos).zip(taus) {
            // cos(i x) by the Chebyshev recurrence cos(i x) = 2 cos(x) cos((i-1) x) - cos((i-2) x),
            // in f64: one libm call per fraction instead of one per feature (the calls dominated).
            let c1 = (std::f64::consts::PI * f64::from(*tau)).cos();
            let (mut prev, mut cur) = (c1, 1.0f64);
            for c in row.iter_mut() {
                *c = cur as f32;
                let next = 2.0 * c1 * cur - prev;
                prev = cur;
                cur = next;
            }
        }
        cache.out.resize(rows * self.dim, 0.0);
        let (w, b) = self.params.split_at(self.n_cos * self.dim);
        for row in cache.out.chunks_exact_mut(self.dim) {
            row.copy_from_slice(b);
        }
        gemm(
            1.0,
            Mat::new(&cache.cos, rows, self.n_cos),
            Mat::new(w, self.n_cos, self.dim),
            1.0,
            &mut cache.out,
        );
        cache.out.iter_mut().for_each(|x| *x = x.max(0.0));
        &cache.out
    }

    /// Adds the parameter gradients for `d_out` (gradient w.r.t. the last forward's output) into
    /// `grads`. Fractions are sampled, not learned, so there is no input gradient.
    pub fn backward(&self, cache: &EmbeddingCache, d_out: &[f32], grads: &mut [f32]) {
        assert_eq!(
            d_out.len(),
            cache.rows * self.dim,
            "CosineEmbedding::backward: d_out size"
        );
        assert_eq!(grads.len(), self.params.len());
        let mut g = d_out.to_vec();
        crate::mlp::relu_backward(&cache.out, &mut g);
        let (gw, gb) = grads.split_at_mut(self.n_cos * self.dim);
        gemm(
            1.0,
            Mat::new(&cache.cos, cache.rows, self.n_cos).t(),
            Mat::new(&g, cache.rows, self.dim),
            1.0,
            gw,
        );
        for row in g.chunks_exact(self.dim) {
            gb.iter_mut().zip(row).for_each(|(d, r)| *d += r);
        }
    }
}
