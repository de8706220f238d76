//! Threading: the same thread count and seed give identical results; row-split matrix products
//! make 1 and 2 threads agree bit for bit as well. (One test in its own binary: it changes the
//! global thread count.)

use imbarb_nn::loss::{self, Taus};
use imbarb_nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn train(threads: usize) -> Vec<f32> {
    set_threads(threads);
    let mut net = Mlp::new(MlpConfig::relu(40, &[256, 256], 672), 3).unwrap();
    let mut adam = Adam::new(AdamConfig::default(), net.num_params());
    let mut cache = MlpCache::default();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (batch, n) = (256, 672);
    let taus = loss::midpoint_taus(n);
    for _ in 0..3 {
        let x: Vec<f32> = (0..batch * 40).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let target: Vec<f32> = (0..batch * 4).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let y = net.forward(&x, batch, &mut cache).to_vec();
        let mut dy = vec![0.0; y.len()];
        loss::quantile_huber(
            &y,
            n,
            Taus::Shared(&taus),
            &target,
            4,
            1.0,
            None,
            &mut dy,
            None,
        );
        let mut g = net.zero_grads();
        net.backward(&mut cache, &dy, &mut g, None);
        adam.update(net.params_mut(), &g);
    }
    net.params().to_vec()
}

#[test]
fn results_are_identical_for_the_same_thread_count() {
    let one_a = train(1);
    let one_b = train(1);
    let two_a = train(2);
    let two_b = train(2);
    assert_eq!(one_a, one_b);
    assert_eq!(two_a, two_b);
    assert_eq!(one_a, two_a, "row-split products are exact");
    set_threads(1);
}
