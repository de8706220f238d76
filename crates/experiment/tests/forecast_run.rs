//! A run that observes the forecaster keeps it: `forecaster.safetensors` is written with the
//! run and its checksum recorded, resuming observes through it, a replaced forecaster is refused
//! by the backtest, `decide` and a resume, and training data without the forecaster its config
//! asks for is refused. Runs fitting the same forecaster share one fit through the cache.

use imbarb_agents::decide::Decider;
use imbarb_agents::trainer::{read_manifest, FORECASTER_FILE};
use imbarb_agents::{train, RunPolicy, TrainConfig, TrainOptions};
use imbarb_experiment::{training_setup, CacheOutcome, ForecasterCache};

/// The saved form's checksum: equal forecasters, equal digests.
fn digest(f: &imbarb_plan::Forecaster) -> String {
    f.to_checkpoint().unwrap().digest()
}

fn config() -> TrainConfig {
    let text = r#"
algo = "qr-dqn"
[data]
sources = ["belgium"]
[network]
hidden = [16]
[training]
total_steps = 2000
learning_starts = 500
validate_every = 1000
envs = 4
[forecast_features]
horizon = 2
levels = [0.5]
[forecast_features.forecaster]
horizon = 2
quantiles = 1
hidden = [8]
steps = 50
validate_every = 25
[forecast_features.plan]
horizon = 2
soc_points = 2
"#;
    TrainConfig::from_toml(text, "test").unwrap()
}

#[test]
fn a_forecast_run_keeps_its_forecaster_and_refuses_another() {
    let config = config();
    let setup = training_setup(&config, None, None).unwrap();
    assert_eq!(
        setup.features.names.last().map(String::as_str),
        Some("plan_soc100_discharge")
    );
    let quantiles = setup.features.width - 4;
    assert_eq!(setup.features.names[quantiles - 1], "forecast_qh1_p50");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&setup.train_data(), &config, &run, &TrainOptions::default()).unwrap();
    let manifest = read_manifest(&run).unwrap();
    let saved = imbarb_nn::Checkpoint::load(&run.join(FORECASTER_FILE)).unwrap();
    assert_eq!(
        manifest.forecaster_sha256.as_deref(),
        Some(saved.digest().as_str())
    );
    assert_eq!(manifest.feature_names.len(), setup.features.width + 3);
    RunPolicy::load(&run, &setup.days, &setup.train, &setup.config).unwrap();
    Decider::load(&run).unwrap();
    // Training again in the same directory observes through the saved forecaster (the same
    // columns to the bit) and finds the run finished.
    let resumed = training_setup(&config, Some(&run), None).unwrap();
    assert_eq!(resumed.features.values, setup.features.values);
    train(
        &resumed.train_data(),
        &config,
        &run,
        &TrainOptions::default(),
    )
    .unwrap();

    // Another forecaster (another seed) in its place.
    let mut other = config.clone();
    if let Some(f) = &mut other.forecast_features {
        f.forecaster.seed = 9;
    }
    let spec = other.forecast_features.as_ref().unwrap();
    let refit = spec.fit(&setup.days, &setup.train).unwrap();
    refit
        .to_checkpoint()
        .unwrap()
        .save(&run.join(FORECASTER_FILE))
        .unwrap();
    let e = RunPolicy::load(&run, &setup.days, &setup.train, &setup.config)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("checksum differs"), "{e}");
    let e = Decider::load(&run).err().unwrap().to_string();
    assert!(
        e.contains("forecaster.safetensors") && e.contains("checksum differs"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        training_setup(&config, Some(&run), None).err().unwrap()
    );
    assert!(e.contains("fitted with other settings"), "{e}");

    // Training data without the forecaster the config asks for.
    let mut data = setup.train_data();
    data.forecaster = None;
    let fresh = dir.path().join("fresh");
    let e = train(&data, &config, &fresh, &TrainOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("forecast_features"), "{e}");
}

/// A run observing gradient-boosted trees (`[forecast_features.trees]`) saves them in
/// `forecaster.safetensors`; the backtest and `decide` load them, a resumed run observes the same
/// columns to the bit, and the cache keeps the trees apart from the MLP of the same settings.
#[test]
fn a_run_over_trees_keeps_its_trees() {
    let mut config = config();
    if let Some(f) = &mut config.forecast_features {
        f.trees = Some(imbarb_plan::TreeSettings {
            max_rounds: 10,
            max_depth: 2,
            ..imbarb_plan::TreeSettings::default()
        });
    }
    let setup = training_setup(&config, None, None).unwrap();
    assert!(setup.forecaster.as_ref().unwrap().trees().is_some());
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&setup.train_data(), &config, &run, &TrainOptions::default()).unwrap();
    let saved = imbarb_nn::Checkpoint::load(&run.join(FORECASTER_FILE)).unwrap();
    assert!(saved.get_bytes("forecaster.trees.h2").is_ok());
    assert_eq!(
        read_manifest(&run).unwrap().forecaster_sha256.as_deref(),
        Some(saved.digest().as_str())
    );
    RunPolicy::load(&run, &setup.days, &setup.train, &setup.config).unwrap();
    Decider::load(&run).unwrap();
    let resumed = training_setup(&config, Some(&run), None).unwrap();
    assert_eq!(resumed.features.values, setup.features.values);
    // The MLP's columns differ from the trees' (each model really is used).
    let plain = training_setup(&self::config(), None, None).unwrap();
    assert_ne!(plain.features.values, setup.features.values);

    let cache = ForecasterCache::new(dir.path().join("forecasters"));
    let (days, train_days, hash) = (&setup.days, &setup.train, &setup.data_hash);
    let trees = config.forecast_features.as_ref().unwrap();
    let mlp = self::config().forecast_features.unwrap();
    assert_ne!(
        ForecasterCache::key(trees, days, train_days, hash).unwrap(),
        ForecasterCache::key(&mlp, days, train_days, hash).unwrap()
    );
    let (fitted, outcome) = cache.fit(trees, days, train_days, hash).unwrap();
    assert_eq!(outcome, CacheOutcome::Fitted);
    assert_eq!(digest(&fitted), saved.digest());
    let (hit, outcome) = cache.fit(trees, days, train_days, hash).unwrap();
    assert_eq!((outcome, digest(&hit)), (CacheOutcome::Hit, saved.digest()));
}

/// The cache fits once per (code, data, training days, settings): a second run reads the same
/// forecaster to the bit and observes the same columns, two runs starting together fit once,
/// other days or settings fit anew, and a damaged entry is refitted, not trusted.
#[test]
fn runs_fitting_the_same_forecaster_share_one_fit() {
    let config = config();
    let dir = tempfile::tempdir().unwrap();
    let cache = ForecasterCache::new(dir.path().join("forecasters"));
    let plain = training_setup(&config, None, None).unwrap();
    let (days, train, hash) = (&plain.days, &plain.train, &plain.data_hash);
    let spec = config.forecast_features.as_ref().unwrap();

    let (first, outcome) = cache.fit(spec, days, train, hash).unwrap();
    assert_eq!(outcome, CacheOutcome::Fitted);
    let (again, outcome) = cache.fit(spec, days, train, hash).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(digest(&again), digest(&first));
    // A fit without the cache gives the same forecaster, and a run through the cache the same
    // columns as one without it.
    assert_eq!(digest(plain.forecaster.as_ref().unwrap()), digest(&first));
    let cached = training_setup(&config, None, Some(&cache)).unwrap();
    assert_eq!(cached.features.values, plain.features.values);

    // Other training days, other settings: other entries.
    let fewer = &train[1..];
    assert_eq!(
        cache.fit(spec, days, fewer, hash).unwrap().1,
        CacheOutcome::Fitted
    );
    let mut other = spec.clone();
    other.forecaster.seed = 4;
    let (reseeded, outcome) = cache.fit(&other, days, train, hash).unwrap();
    assert_eq!(outcome, CacheOutcome::Fitted);
    assert_ne!(digest(&reseeded), digest(&first));
    assert_eq!(
        cache.fit(spec, days, train, "other data").unwrap().1,
        CacheOutcome::Fitted
    );

    // A damaged entry is refitted and replaced.
    let key = ForecasterCache::key(spec, days, train, hash).unwrap();
    let entry = cache.dir.join(format!("{key}.safetensors"));
    std::fs::write(&entry, b"not a checkpoint").unwrap();
    let (refit, outcome) = cache.fit(spec, days, train, hash).unwrap();
    assert_eq!(outcome, CacheOutcome::Fitted);
    assert_eq!(digest(&refit), digest(&first));
    assert_eq!(
        cache.fit(spec, days, train, hash).unwrap().1,
        CacheOutcome::Hit
    );

    // Two runs starting together on a fresh cache: one fits, the other waits and reads it.
    let fresh = ForecasterCache::new(dir.path().join("fresh"));
    let outcomes: Vec<CacheOutcome> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| fresh.fit(spec, days, train, hash).unwrap().1))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let fitted = outcomes
        .iter()
        .filter(|o| **o == CacheOutcome::Fitted)
        .count();
    assert_eq!(fitted, 1, "{outcomes:?}");
}
