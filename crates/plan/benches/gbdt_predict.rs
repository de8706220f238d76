//! Time of the tree forecaster's prediction in hessboost's two forms of the same trees: the
//! native model the forecaster now keeps, and the bit-packed compact model it kept before (and
//! still reads from older files). A model of the forecaster's shape (19 quantile levels, depth
//! 6, 60 rounds on 30 features) predicts 4,096 rows; a setup forecasts every quarter-hour of
//! its data at every horizon (about 40,000 rows x 32 horizons on the embedded prices).

use hessboost::model::compact::CompactModel;
use hessboost::objective::Quantiles;
use hessboost::prelude::{BoostedModel, DMatrix, Iterations, Objective, Trainer, TrainingParams};
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;

const WIDTH: usize = 30;
const ROWS: usize = 4096;

fn main() {
    divan::main();
}

/// Uniform features; the target reads two of them, plus noise.
fn rows(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f32> = (0..n * WIDTH).map(|_| rng.gen::<f32>()).collect();
    let y = (0..n)
        .map(|i| 3.0 * x[i * WIDTH] + x[i * WIDTH + 1] + rng.gen::<f32>())
        .collect();
    (x, y)
}

/// The trees (trained once) in both forms, and the rows they predict.
fn models() -> &'static (BoostedModel, CompactModel, Vec<f32>) {
    static MODELS: OnceLock<(BoostedModel, CompactModel, Vec<f32>)> = OnceLock::new();
    MODELS.get_or_init(|| {
        let (x, y) = rows(8000, 1);
        let taus: Vec<f64> = (1..20).map(|k| f64::from(k) / 20.0).collect();
        let params = TrainingParams::builder()
            .objective(Objective::Quantile(
                Quantiles::new(taus).expect("valid levels"),
            ))
            .eta(0.1)
            .max_depth(6)
            .seed(0)
            .build()
            .expect("valid parameters");
        let data = DMatrix::from_dense(&x, 8000, WIDTH)
            .and_then(|m| m.with_labels(&y))
            .expect("whole rows");
        let native = Trainer::new(&params, &data, 60)
            .train()
            .expect("trains")
            .model;
        let compact = native.to_compact().expect("compacts");
        (native, compact, rows(ROWS, 2).0)
    })
}

#[divan::bench]
fn native(bencher: divan::Bencher) {
    let (model, _, x) = models();
    let m = DMatrix::from_dense(x, ROWS, WIDTH).expect("whole rows");
    bencher.bench(|| model.predict(&m, Iterations::Best).expect("predicts"));
}

#[divan::bench]
fn compact(bencher: divan::Bencher) {
    let (_, model, x) = models();
    let m = DMatrix::from_dense(x, ROWS, WIDTH).expect("whole rows");
    bencher.bench(|| model.predict(&m).expect("predicts"));
}
