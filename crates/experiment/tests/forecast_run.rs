//! A run that observes the forecaster keeps it: `forecaster.safetensors` is written with the
//! run and its checksum recorded, resuming observes through it, a replaced forecaster is refused
//! by the backtest, `decide` and a resume, and training data without the forecaster its config
//! asks for is refused.

use imbarb_agents::decide::Decider;
use imbarb_agents::trainer::{read_manifest, FORECASTER_FILE};
use imbarb_agents::{train, RunPolicy, TrainConfig, TrainOptions};
use imbarb_experiment::training_setup;

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
    let setup = training_setup(&config, None).unwrap();
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
    let resumed = training_setup(&config, Some(&run)).unwrap();
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
    let e = format!("{:#}", training_setup(&config, Some(&run)).err().unwrap());
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
