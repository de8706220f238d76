//! Trained runs from Python: training a run from a config (`train`, the GIL released while it
//! trains), and a finished run as a policy (`Run`): greedy actions for a batch of observations
//! (what `predict` returns, like Stable-Baselines3's), and `decide`, the command line's one-off
//! decision from published data and the battery's measured state.

use crate::errors::{err, IntoPy};
use anyhow::Context;
use imbarb_agents::decide::{BatteryState, Decider};
use imbarb_agents::trainer::{load_best, Manifest};
use imbarb_agents::{train as train_run, TrainConfig, TrainOptions, TrainOverrides, ValueAgent};
use imbarb_experiment::training_setup;
use imbarb_sim::Action;
use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Trains the run `config` (an imbarb TOML config) describes into `out` (resuming a stopped
/// run there; a finished one returns at once), with `overrides` (JSON: any config keys, tables
/// merged) and the command line's overrides. Returns the outcome as JSON (steps, updates,
/// rates, best validation).
#[pyfunction]
#[pyo3(signature = (config, out, steps=None, seed=None, data=None, cap=None, progress=false, overrides=None, forecaster_cache=None))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    config: PathBuf,
    out: PathBuf,
    steps: Option<usize>,
    seed: Option<u64>,
    data: Option<Vec<String>>,
    cap: Option<f64>,
    progress: bool,
    overrides: Option<String>,
    forecaster_cache: Option<PathBuf>,
) -> PyResult<String> {
    let origin = config.display().to_string();
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("reading {origin}"))
        .py_err()?;
    let mut c = TrainConfig::from_toml(&text, &origin).map_err(err)?;
    if let Some(json) = overrides {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&json).map_err(|e| err(format!("overrides: {e}")))?;
        c = crate::spec::merge(&c, &map, "overrides").py_err()?;
    }
    let data_origin = match &data {
        Some(_) => "data".to_string(),
        None => origin.clone(),
    };
    let c = c
        .overridden(TrainOverrides {
            seed,
            data,
            cap,
            steps,
        })
        .map_err(|e| err(format!("{origin}: {e}")))?;
    let cache = forecaster_cache.map(imbarb_experiment::ForecasterCache::new);
    let setup = training_setup(&c, Some(&out), cache.as_ref())
        .context(data_origin)
        .py_err()?;
    let options = TrainOptions {
        progress,
        stop_after_rounds: None,
        stop: None,
    };
    // Training holds no Python object: let other Python threads run meanwhile.
    let outcome = py
        .detach(|| train_run(&setup.train_data(), &c, &out, &options))
        .with_context(|| format!("training {}", out.display()))
        .py_err()?;
    let json = serde_json::json!({
        "dir": out.display().to_string(),
        "finished": outcome.finished,
        "steps": outcome.steps,
        "updates": outcome.updates,
        "env_steps_per_s": outcome.env_steps_per_s,
        "updates_per_s": outcome.updates_per_s,
        "best_eur_per_day": outcome.best.as_ref().map(|b| b.eur_per_day),
        "best_step": outcome.best.as_ref().map(|b| b.step),
    });
    Ok(json.to_string())
}

/// A finished run's deployed network as a policy.
#[pyclass(module = "imbarb._imbarb")]
pub struct Run {
    dir: PathBuf,
    manifest: Manifest,
    /// The network (a mutex: acting reuses the agent's buffers).
    agent: Mutex<Box<dyn ValueAgent>>,
    /// The run as `decide` uses it, loaded at the first decision and kept.
    decider: Mutex<Option<Decider>>,
}

#[pymethods]
impl Run {
    /// Loads the run in `dir` (its deployed checkpoint).
    #[new]
    fn new(dir: PathBuf) -> PyResult<Run> {
        let (agent, manifest) = load_best(&dir)
            .with_context(|| format!("loading trained run {}", dir.display()))
            .py_err()?;
        Ok(Run {
            dir,
            manifest,
            agent: Mutex::new(agent),
            decider: Mutex::new(None),
        })
    }

    /// The run's directory.
    #[getter]
    fn dir(&self) -> String {
        self.dir.display().to_string()
    }

    /// The algorithm (`qr-dqn`, `dsac`, ...).
    #[getter]
    fn algo(&self) -> String {
        self.manifest.algo.clone()
    }

    /// The run's complete config, as TOML.
    #[getter]
    fn config_toml(&self) -> String {
        self.manifest.config.to_toml()
    }

    /// The manifest (seed, data hash, code version, features, validation), as JSON.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.manifest).map_err(|e| err(e.to_string()))
    }

    /// Observation width the network reads.
    #[getter]
    fn observation_width(&self) -> usize {
        self.manifest.obs_width
    }

    /// Discrete actions (0: continuous power).
    #[getter]
    fn n_actions(&self) -> usize {
        self.manifest.config.n_actions()
    }

    /// Greedy actions for a batch of observations (`batch x observation_width`, float32) with
    /// their masks (`batch x n_actions`; None: all allowed): level indices, or power fractions
    /// for a continuous run, as float64.
    #[pyo3(signature = (obs, masks=None))]
    fn act<'py>(
        &self,
        py: Python<'py>,
        obs: PyReadonlyArray2<'py, f32>,
        masks: Option<PyReadonlyArray2<'py, bool>>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let w = self.manifest.obs_width;
        let a = self.n_actions();
        let shape = obs.shape();
        if shape[1] != w {
            return Err(err(format!(
                "obs: {} columns, the run {} reads {w} (build its environment with run.make_env or the run's config)",
                shape[1],
                self.dir.display()
            )));
        }
        let batch = shape[0];
        let obs = obs.as_slice().map_err(|e| err(e.to_string()))?;
        let all_allowed = vec![true; batch * a];
        let masks_view = masks.as_ref().map(|m| (m.shape().to_vec(), m.as_slice()));
        let masks: &[bool] = match &masks_view {
            None => &all_allowed,
            Some((s, _)) if s[..] != [batch, a] => {
                return Err(err(format!("masks: shape {s:?}, expected [{batch}, {a}]")))
            }
            Some((_, slice)) => slice.as_ref().map_err(|e| err(e.to_string()))?,
        };
        let mut actions = vec![];
        self.agent
            .lock()
            .map_err(|_| err("the run's network is poisoned by an earlier panic"))?
            .act(obs, masks, batch, &mut actions);
        let out: Vec<f64> = actions
            .iter()
            .map(|a| match *a {
                Action::Discrete(i) => i as f64,
                Action::Continuous(f) => f,
            })
            .collect();
        Ok(PyArray1::from_vec(py, out))
    }

    /// The decision at `at` (ISO UTC time; default: the next decision time after the data)
    /// from the data in `data` (files, as `--data`), with the battery at `soc_mwh` and
    /// `cycles_used` today: `imbarb decide --json`, as JSON.
    #[pyo3(signature = (data, soc_mwh, cycles_used=0.0, at=None))]
    fn decide(
        &self,
        data: Vec<String>,
        soc_mwh: f64,
        cycles_used: f64,
        at: Option<String>,
    ) -> PyResult<String> {
        let at = match at {
            None => None,
            Some(t) => Some(t.parse::<chrono::DateTime<chrono::Utc>>().map_err(|e| {
                err(format!(
                    "at `{t}`: {e} (expected e.g. 2024-12-31T10:15:00Z)"
                ))
            })?),
        };
        let sources = imbarb_market::source::parse_sources(&data)
            .context("data")
            .py_err()?;
        let market = imbarb_market::source::load_sources(&sources)
            .context("data")
            .py_err()?;
        let mut cached = self
            .decider
            .lock()
            .map_err(|_| err("the run's decider is poisoned by an earlier panic"))?;
        let decider = match cached.as_mut() {
            Some(d) => d,
            None => cached.insert(
                Decider::load(Path::new(&self.dir))
                    .with_context(|| format!("loading trained run {}", self.dir.display()))
                    .py_err()?,
            ),
        };
        let decided = decider
            .decide(
                &market,
                BatteryState {
                    soc_mwh,
                    cycles_used,
                },
                at,
            )
            .py_err()?;
        serde_json::to_string(&decided).map_err(|e| err(e.to_string()))
    }
}
