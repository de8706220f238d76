//! Checkpoints: save -> load gives identical outputs and an identical next update, so an
//! interrupted training run resumes exactly; broken files give clear errors.

use imbarb_nn::loss::{self, Taus};
use imbarb_nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Trainer {
    net: Mlp,
    adam: Adam,
    cache: MlpCache,
}

/// One quantile-regression step on a deterministic batch derived from `step`.
fn train_step(t: &mut Trainer, step: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(1000 + step);
    let (batch, n) = (16, 8);
    let x: Vec<f32> = (0..batch * 6).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let target: Vec<f32> = (0..batch * n).map(|_| rng.gen_range(-2.0..2.0)).collect();
    let taus = loss::midpoint_taus(n);
    let y = t.net.forward(&x, batch, &mut t.cache).to_vec();
    let mut dy = vec![0.0; y.len()];
    loss::quantile_huber(
        &y,
        n,
        Taus::Shared(&taus),
        &target,
        n,
        1.0,
        None,
        &mut dy,
        None,
    );
    let mut g = t.net.zero_grads();
    t.net.backward(&mut t.cache, &dy, &mut g, None);
    clip_grad_norm(&mut g, 1.0);
    t.adam.update(t.net.params_mut(), &g);
}

fn new_trainer() -> Trainer {
    let cfg = MlpConfig {
        layer_norm: true,
        ..MlpConfig::relu(6, &[16, 16], 8)
    };
    let net = Mlp::new(cfg, 11).unwrap();
    let adam = Adam::new(
        AdamConfig {
            lr: 3e-3,
            weight_decay: 1e-4,
            ..Default::default()
        },
        net.num_params(),
    );
    Trainer {
        net,
        adam,
        cache: MlpCache::default(),
    }
}

#[test]
fn save_load_resumes_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    let mut a = new_trainer();
    for s in 0..5 {
        train_step(&mut a, s);
    }
    let mut ck = Checkpoint::new();
    ck.put_mlp("online", &a.net).unwrap();
    ck.put_adam("online.adam", &a.adam).unwrap();
    ck.set_meta("step", "5");
    ck.save(&path).unwrap();
    for s in 5..10 {
        train_step(&mut a, s);
    }

    let loaded = Checkpoint::load(&path).unwrap();
    assert_eq!(loaded.meta("step"), Some("5"));
    let mut b = Trainer {
        net: loaded.mlp("online").unwrap(),
        adam: loaded.adam("online.adam").unwrap(),
        cache: MlpCache::default(),
    };
    assert_eq!(b.adam.step, 5);
    // Same outputs right after loading ...
    let mut c = new_trainer();
    for s in 0..5 {
        train_step(&mut c, s);
    }
    assert_eq!(b.net.params(), c.net.params());
    // ... and the same trajectory afterwards.
    for s in 5..10 {
        train_step(&mut b, s);
    }
    assert_eq!(a.net.params(), b.net.params());
    assert_eq!(a.adam, b.adam);
    // Tensors are stored per layer with their shapes, readable by other safetensors tools.
    assert_eq!(loaded.shape("online.layers.0.weight"), Some(&[6, 16][..]));
    assert_eq!(loaded.shape("online.layers.1.ln_gain"), Some(&[16][..]));
}

#[test]
fn broken_checkpoints_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("bad.safetensors") && e.contains("safetensors"),
        "{e}"
    );
    let e = Checkpoint::load(&dir.path().join("missing.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.safetensors"), "{e}");

    let t = new_trainer();
    let mut ck = Checkpoint::new();
    ck.put_mlp("net", &t.net).unwrap();
    ck.put("net.layers.0.weight", vec![3, 2], &[0.0; 6])
        .unwrap();
    let e = ck.mlp("net").unwrap_err().to_string();
    assert!(
        e.contains("net.layers.0.weight") && e.contains("[6, 16]"),
        "{e}"
    );
    assert!(ck.mlp("other").is_err());
    assert!(ck.put("x", vec![2, 2], &[1.0; 3]).is_err());
}
