//! Writes one QR-DQN loss evaluation (weights, batch, targets, and imbarb-nn's loss and gradients)
//! to a safetensors file, for `bench/torch_crosscheck.py` to recompute in PyTorch.
//!
//! Run: `cargo run --release -p imbarb-nn --example crosscheck -- OUT.safetensors`

use imbarb_nn::loss::{self, Taus};
use imbarb_nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: crosscheck OUT.safetensors")?;
    let (batch, obs, actions, n) = (64, 40, 21, 32);
    let cfg = MlpConfig {
        layer_norm: true,
        ..MlpConfig::relu(obs, &[256, 256], actions * n)
    };
    let mut mlp = Mlp::new(cfg, 5)?;
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // Perturb LayerNorm gains and biases away from their initial values so they are checked too.
    let p: Vec<f32> = mlp
        .params()
        .iter()
        .map(|v| v + rng.gen_range(-0.05..0.05))
        .collect();
    mlp.set_params(&p)?;
    let x: Vec<f32> = (0..batch * obs).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let chosen: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..actions)).collect();
    let targets: Vec<f32> = (0..batch * n).map(|_| rng.gen_range(-3.0..3.0)).collect();
    let taus = loss::midpoint_taus(n);

    let mut cache = MlpCache::default();
    let pred = mlp
        .forward_selected(&x, batch, n, &chosen, &mut cache)
        .to_vec();
    let mut d_pred = vec![0.0; pred.len()];
    let l = loss::quantile_huber(
        &pred,
        n,
        Taus::Shared(&taus),
        &targets,
        n,
        1.0,
        None,
        &mut d_pred,
        None,
    );
    let mut grads = mlp.zero_grads();
    let mut dx = vec![0.0; x.len()];
    mlp.backward(&mut cache, &d_pred, &mut grads, Some(&mut dx));

    let mut ck = Checkpoint::new();
    ck.put_mlp("net", &mlp)?;
    for (name, shape, range) in mlp.named_blocks() {
        ck.put(&format!("grad.{name}"), shape, &grads[range])?;
    }
    ck.put("x", vec![batch, obs], &x)?;
    let chosen_f: Vec<f32> = chosen.iter().map(|&c| c as f32).collect();
    ck.put("actions", vec![batch], &chosen_f)?;
    ck.put("targets", vec![batch, n], &targets)?;
    ck.put("taus", vec![n], &taus)?;
    ck.put("loss", vec![1], &[l])?;
    ck.put("dx", vec![batch, obs], &dx)?;
    ck.set_meta("quantiles", n.to_string());
    ck.set_meta("kappa", "1.0");
    ck.save(std::path::Path::new(&out))?;
    println!("wrote {out}: loss {l}");
    Ok(())
}
