//! imbarb-nn: a small, fast, exact training engine for imbarb's agents.
//!
//! Our networks are small MLPs trained for millions of updates on CPU, where general frameworks
//! lose their time to per-operation overhead and unfused losses. This crate keeps tensors as plain
//! row-major `f32` buffers, does the dense work with `matrixmultiply`'s sgemm, and writes every
//! other step (activations, layer norm, losses, the IQN cosine embedding, Adam) as plain fused Rust
//! with hand-derived gradients, each checked against finite differences of an f64 reference.
//!
//! Every model keeps all of its parameters in one flat `Vec<f32>`, so optimisers, gradient
//! clipping, target-network updates and checkpoints work on any model the same way.

pub mod checkpoint;
pub mod embedding;
mod error;
pub mod gemm;
pub mod loss;
pub mod mlp;
pub mod optim;

pub use checkpoint::Checkpoint;
pub use embedding::CosineEmbedding;
pub use error::{NnError, Result};
pub use gemm::{set_threads, threads};
pub use mlp::{relu_backward, Activation, Init, Mlp, MlpCache, MlpConfig};
pub use optim::{clip_grad_norm, hard_update, polyak_update, Adam, AdamConfig};
