//! The forecaster's tree baseline on real Belgian prices (the embedded 2022-23 file): it beats
//! persistence and the time-of-day profile on held-out days, its quantiles never cross, it
//! repeats by seed, and it is scored by the same code as the MLP.

use imbarb_market::source::belgium;
use imbarb_market::Coverage;
use imbarb_nn::Checkpoint;
use imbarb_plan::forecast::rows;
use imbarb_plan::{
    evaluate, ForecastConfig, Forecaster, GbdtConfig, GbdtForecaster, QuantileForecaster,
    QuantileModel, TreeSettings,
};
use imbarb_sim::{Granularity, MarketDays};

/// 140 consecutive real days (2022-07 .. 11): 120 to train (the last 15 % of them stop the
/// boosting), the next 20 to score.
fn real_days() -> (MarketDays, Vec<usize>, Vec<usize>) {
    let data = belgium().unwrap();
    let dates = Coverage::of(&data).complete_days;
    let days = MarketDays::new(&data, &dates[..140], Granularity::Qh, 0).unwrap();
    (days, (0..120).collect(), (120..140).collect())
}

fn config() -> GbdtConfig {
    GbdtConfig {
        base: ForecastConfig {
            horizon: 4,
            quantiles: 9,
            ..ForecastConfig::default()
        },
        trees: TreeSettings {
            max_rounds: 150,
            ..TreeSettings::default()
        },
    }
}

/// Every evaluation row's quantiles, as the forecaster gives them.
fn quantiles(f: &GbdtForecaster, days: &MarketDays, eval: &[usize]) -> Vec<f64> {
    let features = f.features_for(days).unwrap();
    let r = rows(days, &features, eval, f.horizon());
    let mut all = vec![];
    f.for_each_quantiles(&r.x, &mut |_, q| all.extend_from_slice(q))
        .unwrap();
    assert_eq!(all.len(), r.len() * f.horizon() * 9);
    all
}

#[test]
fn trees_beat_persistence_and_profile_on_real_prices_and_repeat_by_seed() {
    let (days, train, eval) = real_days();
    let f = GbdtForecaster::fit(&days, &train, &config()).unwrap();
    assert!(f.validation.is_finite());
    assert_eq!(f.rounds.len(), 4);
    assert!(f.rounds.iter().all(|&r| (1..=150).contains(&r)));
    let scores = evaluate(&f, &days, &train, &eval).unwrap();
    let crps = |name: &str, h: usize| {
        scores
            .iter()
            .find(|s| s.forecast == name && s.horizon == h)
            .unwrap()
            .crps
    };
    let mean = |name: &str| (1..=4).map(|h| crps(name, h)).sum::<f64>() / 4.0;
    assert!(mean("forecaster") < mean("persistence"), "{scores:?}");
    for h in 1..=4 {
        assert!(crps("forecaster", h) < crps("profile", h), "{scores:?}");
    }
    let q = quantiles(&f, &days, &eval);
    for levels in q.chunks(9) {
        assert!(levels.windows(2).all(|w| w[1] >= w[0]), "{levels:?}");
    }
    // The same seed grows the same trees.
    let again = GbdtForecaster::fit(&days, &train, &config()).unwrap();
    assert_eq!(again.rounds, f.rounds);
    assert_eq!(quantiles(&again, &days, &eval), q);
}

/// Through its saved form (a checkpoint file's bytes) the forecaster gives every quantile to
/// the bit and keeps its settings; a file whose trees do not fit its features, that lacks a
/// horizon's trees, or that names an unknown model is refused by name, and the MLP's reader
/// does not take trees for a network.
#[test]
fn saved_trees_forecast_to_the_bit_and_bad_files_are_refused() {
    let (days, train, eval) = real_days();
    let fitted = GbdtForecaster::fit(&days, &train, &config()).unwrap();
    let bytes = fitted.to_checkpoint().unwrap().to_bytes().unwrap();
    let ck = Checkpoint::from_bytes("f.safetensors", &bytes).unwrap();
    let Forecaster::Trees(saved) = Forecaster::from_checkpoint(&ck, "f.safetensors").unwrap()
    else {
        panic!("trees saved, something else loaded")
    };
    assert_eq!(
        quantiles(&saved, &days, &eval),
        quantiles(&fitted, &days, &eval)
    );
    assert_eq!(saved.config, fitted.config);
    assert_eq!(
        (saved.rounds.clone(), saved.validation),
        (fitted.rounds.clone(), fitted.validation)
    );
    assert_eq!(saved.price_scale, fitted.price_scale);
    assert_eq!(saved.feature_names, fitted.feature_names);

    let refused = |ck: &Checkpoint, want: &str| {
        let e = Forecaster::from_checkpoint(ck, "f.safetensors")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.safetensors") && e.contains(want), "{e}");
    };
    // Horizon 2's trees swapped for a model of another forecaster (one feature, one horizon).
    let other = GbdtForecaster::fit(
        &days,
        &train,
        &GbdtConfig {
            base: ForecastConfig {
                horizon: 1,
                quantiles: 3,
                observation: imbarb_sim::ObservationConfig {
                    last_prices: 1,
                    ..imbarb_sim::ObservationConfig::default()
                },
                ..ForecastConfig::default()
            },
            trees: TreeSettings {
                max_rounds: 5,
                ..TreeSettings::default()
            },
        },
    )
    .unwrap()
    .to_checkpoint()
    .unwrap();
    let mut swapped = ck.clone();
    swapped
        .put_bytes(
            "forecaster.trees.h2",
            other.get_bytes("forecaster.trees.h1").unwrap().to_vec(),
        )
        .unwrap();
    refused(&swapped, "forecaster.trees.h2: trees of");
    // A horizon's trees missing, or garbled.
    let mut garbled = ck.clone();
    garbled
        .put_bytes("forecaster.trees.h3", vec![1, 2, 3])
        .unwrap();
    refused(&garbled, "forecaster.trees.h3");
    let mut short = Checkpoint::new();
    for key in [
        "config",
        "observation",
        "feature_names",
        "feature_mean",
        "feature_std",
        "profile",
        "trees",
        "anchor",
        "rounds",
        "validation",
        "price_scale",
        "model",
    ] {
        let key = format!("forecast.{key}");
        short.set_meta(&key, ck.meta(&key).unwrap());
    }
    for t in 1..4 {
        let name = format!("forecaster.trees.h{t}");
        short
            .put_bytes(&name, ck.get_bytes(&name).unwrap().to_vec())
            .unwrap();
    }
    refused(&short, "forecaster.trees.h4");
    let mut unknown = ck.clone();
    unknown.set_meta("forecast.model", "\"forest\"");
    refused(&unknown, "forest");
    let e = QuantileForecaster::from_checkpoint(&ck, "f.safetensors").unwrap_err();
    assert!(e.to_string().contains("f.safetensors"), "{e}");
}

#[test]
fn bad_settings_are_refused_by_name() {
    let (days, train, _) = real_days();
    for (bad, key) in [
        (
            GbdtConfig {
                trees: TreeSettings {
                    eta: 0.0,
                    ..config().trees
                },
                ..config()
            },
            "trees.eta",
        ),
        (
            GbdtConfig {
                trees: TreeSettings {
                    max_depth: 0,
                    ..config().trees
                },
                ..config()
            },
            "trees.max_depth",
        ),
        (
            GbdtConfig {
                trees: TreeSettings {
                    max_rounds: 0,
                    ..config().trees
                },
                ..config()
            },
            "trees.max_rounds",
        ),
        (
            GbdtConfig {
                base: ForecastConfig {
                    horizon: 0,
                    ..ForecastConfig::default()
                },
                ..config()
            },
            "forecast.horizon",
        ),
    ] {
        let e = GbdtForecaster::fit(&days, &train, &bad).err().unwrap();
        assert!(e.to_string().contains(key), "{e}");
    }
}
