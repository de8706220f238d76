//! What Python asks to simulate (data, split, day set, battery, decisions, actions, features),
//! sent as one JSON document by `imbarb/_spec.py` and resolved here into a simulation `Setup`
//! the way the command line resolves its config files and flags: an imbarb TOML config or a
//! trained run gives the base, keyword arguments override it, and every value is checked with
//! the Rust checks (errors name the argument and the field).

use crate::errors::err;
use anyhow::{bail, Context, Result};
use imbarb_agents::trainer::read_manifest;
use imbarb_agents::TrainConfig;
use imbarb_experiment::{build_setup, parse_data, DaySet, Setup};
use imbarb_sim::{components_in, ActionSpace, EnvConfig, Granularity, MarketFeatures};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The simulation a Python call asks for. `None` fields keep the base's value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// An imbarb TOML config (`configs/qrdqn.toml`): its data, split and `[env]` are the base.
    pub config: Option<String>,
    /// A trained run directory: its config is the base, and its observation is normalised with
    /// the run's own statistics (what the run saw in training).
    pub run: Option<String>,
    /// Data sources (`belgium`, `synthetic...`, files).
    pub data: Option<Vec<String>>,
    /// Split (`paper`, `walk-forward:...`, `explicit:...`).
    pub split: Option<String>,
    /// Day set: train, validation, test or all (default train).
    pub days: Option<String>,
    /// `qh` or `minute`.
    pub granularity: Option<String>,
    /// `discrete:N` or `continuous`.
    pub actions: Option<String>,
    /// Daily cycle cap (full equivalent cycles).
    pub cap: Option<f64>,
    /// Battery fields (`BatteryConfig` keys) to override.
    #[serde(default)]
    pub battery: serde_json::Map<String, serde_json::Value>,
    /// Observation fields (`ObservationConfig` keys, `[env.observation]` in configs) to override.
    #[serde(default)]
    pub features: serde_json::Map<String, serde_json::Value>,
    /// `whole` or `clip`.
    pub levels_at_limits: Option<String>,
    /// Seed of the per-minute surrogate estimates.
    pub minute_seed: Option<u64>,
    /// Where a config's fitted forecaster is kept and found again (`ForecasterCache`).
    pub forecaster_cache: Option<String>,
}

/// A resolved spec: the setup and the config it came from (the base with the overrides).
pub struct Resolved {
    /// Days, features, environment and day sets.
    pub setup: Setup,
    /// The base config with the spec's data, split and environment.
    pub config: TrainConfig,
}

impl Spec {
    /// Parses the JSON Python sends.
    pub fn parse(json: &str) -> Result<Spec> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("simulation arguments: `{}`: {}", e.path(), e.inner()))
    }

    /// The base config: the run's, the config file's, or the defaults on the embedded prices.
    fn base(&self) -> Result<TrainConfig> {
        match (&self.config, &self.run) {
            (Some(_), Some(_)) => bail!("give config= or run=, not both"),
            (Some(path), None) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
                TrainConfig::from_toml(&text, path).map_err(anyhow::Error::msg)
            }
            (None, Some(dir)) => Ok(read_manifest(Path::new(dir))
                .with_context(|| format!("loading trained run {dir}"))?
                .config),
            (None, None) => {
                let mut c = TrainConfig::default();
                c.data.sources = vec!["belgium".into()];
                Ok(c)
            }
        }
    }

    /// The environment: the base's with every override applied and checked.
    fn env(&self, base: &EnvConfig) -> Result<EnvConfig> {
        let mut env = base.clone();
        env.battery = merge(&env.battery, &self.battery, "battery")?;
        env.observation = merge(&env.observation, &self.features, "features")?;
        if let Some(g) = &self.granularity {
            env.granularity = g
                .parse::<Granularity>()
                .map_err(|e| anyhow::anyhow!("granularity: {e}"))?;
        }
        if let Some(a) = &self.actions {
            env.actions = a
                .parse::<ActionSpace>()
                .map_err(|e| anyhow::anyhow!("actions: {e}"))?;
        }
        if let Some(cap) = self.cap {
            env.battery.cycles_per_day = Some(cap);
        }
        if let Some(l) = &self.levels_at_limits {
            env.levels_at_limits = serde_json::from_value(serde_json::Value::String(l.clone()))
                .map_err(|_| anyhow::anyhow!("levels_at_limits `{l}`: expected whole or clip"))?;
        }
        // Its message names the battery field already.
        env.battery.check()?;
        env.actions.check().context("actions")?;
        env.observation
            .check()
            .map_err(|e| anyhow::anyhow!("features: {e}"))?;
        Ok(env)
    }

    /// Loads the data and builds the setup this spec describes.
    pub fn resolve(&self) -> Result<Resolved> {
        let mut config = self.base()?;
        config.env = self.env(&config.env)?;
        if let Some(data) = &self.data {
            config.data.sources = data.clone();
        }
        if let Some(split) = &self.split {
            config.data.split = split.clone();
        }
        if let Some(seed) = self.minute_seed {
            config.data.minute_seed = seed;
        }
        let days: DaySet = self
            .days
            .as_deref()
            .unwrap_or("train")
            .parse()
            .map_err(anyhow::Error::msg)?;
        let (sources, split) = parse_data(&config.data.sources, &config.data.split)?;
        let mut setup = build_setup(
            &sources,
            &split,
            config.env.clone(),
            config.data.minute_seed,
            days,
        )?;
        match (&self.run, &config.forecast_features) {
            (Some(dir), _) => rescale_for_run(&mut setup, Path::new(dir))?,
            (None, Some(spec)) => {
                let cache = self
                    .forecaster_cache
                    .as_ref()
                    .map(imbarb_experiment::ForecasterCache::new);
                setup.observe_forecast(spec, cache.as_ref())?
            }
            (None, None) => {}
        }
        Ok(Resolved { setup, config })
    }
}

/// Normalises `setup`'s observation with the run's own statistics (recorded in its manifest), so
/// that a run's network sees exactly what it saw in training and what `imbarb backtest` feeds it.
/// Its forecast columns (`forecast_features`) come from the run's saved forecaster.
fn rescale_for_run(setup: &mut Setup, dir: &Path) -> Result<()> {
    let manifest = read_manifest(dir).with_context(|| format!("loading {}", dir.display()))?;
    if let Some(scaling) = manifest.scaling() {
        let env = &manifest.config.env;
        let comps = components_in(&manifest.feature_names);
        setup.features = MarketFeatures::build_scaled(
            &setup.days,
            &env.observation,
            env.granularity,
            &comps,
            &scaling,
        )?;
    }
    imbarb_agents::append_run_forecast(dir, &manifest, &setup.days, &mut setup.features)?;
    Ok(())
}

/// `base` with `overrides` laid over it (tables merged key by key, other values replaced),
/// checked by deserialising the result: an unknown key or a wrong type is an error naming
/// `what.path.to.key`.
pub fn merge<T: Serialize + DeserializeOwned>(
    base: &T,
    overrides: &serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<T> {
    let mut value = serde_json::to_value(base)?;
    lay_over(&mut value, overrides);
    serde_path_to_error::deserialize(value)
        .map_err(|e| anyhow::anyhow!("{what}.{}: {}", e.path(), e.inner()))
}

fn lay_over(value: &mut serde_json::Value, overrides: &serde_json::Map<String, serde_json::Value>) {
    let Some(map) = value.as_object_mut() else {
        *value = serde_json::Value::Object(overrides.clone());
        return;
    };
    for (k, v) in overrides {
        match (map.get_mut(k), v) {
            (Some(existing @ serde_json::Value::Object(_)), serde_json::Value::Object(o)) => {
                lay_over(existing, o)
            }
            _ => {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Parses and resolves `spec` (for the other modules), mapping errors to `ImbarbError`.
pub fn resolve(spec: &str) -> PyResult<Resolved> {
    Spec::parse(spec)
        .and_then(|s| s.resolve())
        .map_err(|e| err(format!("{e:#}")))
}
