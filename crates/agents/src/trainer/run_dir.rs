//! A run directory and what it holds: `config.toml`, `manifest.json` (with the run's status),
//! `metrics.jsonl` (one typed line per validation) and `checkpoints/` (`latest.safetensors`, the
//! full state a resume restores, random streams included; `best.safetensors`, the network to
//! deploy). Every write is atomic or an fsynced append.

use super::metrics::MetricsLine;
use super::state::{io_err, TrainError, TrainState, Validation};
use crate::build::build_agent;
use crate::config::TrainConfig;
use crate::value::ValueAgent;
use imbarb_nn::Checkpoint;
use imbarb_util::fs::{remove_orphan_temps, DirLock, LOCK_FILE, TEMP_PREFIX};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `manifest.json` records: enough to reproduce and to deploy the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The algorithm's name.
    pub algo: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// The full configuration.
    pub config: TrainConfig,
    /// Hash of the loaded market data.
    pub data_hash: String,
    /// Code version (crate version and git commit).
    pub code_version: String,
    /// Observation feature names (market features, then the battery's).
    pub feature_names: Vec<String>,
    /// Normalisation means of the market features (training days).
    pub feature_mean: Vec<f64>,
    /// Normalisation standard deviations of the market features.
    pub feature_std: Vec<f64>,
    /// Observation width.
    pub obs_width: usize,
    /// C51 support in EUR (as trained).
    pub support_eur: (f64, f64),
    /// Training and validation days.
    pub train_days: usize,
    /// Validation days.
    pub validation_days: usize,
    /// Whether the run reached its total steps.
    pub status: RunStatus,
    /// The validation of the deployed network (`best.safetensors`): the best so far, or with
    /// `training.deploy = "final"` the latest.
    pub best: Option<Validation>,
    /// The training days' average price per Brussels wall-clock slot (null: a slot they never
    /// had), which the `profile_ahead` features show; recorded so a deployed run rebuilds its
    /// observations without its training data. Absent in runs from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_profile: Option<Vec<Option<f64>>>,
    /// The market the run was trained on (`BE`, `NL`); absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    /// The training days' prices (level, spread, negative share): the reference the live
    /// service compares the market it sees with. Absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_prices: Option<imbarb_market::stats::PriceSummary>,
    /// The last training day (validation days excluded). Absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_until: Option<chrono::NaiveDate>,
    /// Content checksum of `forecaster.safetensors`, the forecaster whose quantiles the run
    /// observes (`forecast_features`); absent when it observes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecaster_sha256: Option<String>,
}

/// The file in a run directory holding the forecaster of its `forecast_features`.
pub const FORECASTER_FILE: &str = "forecaster.safetensors";

impl Manifest {
    /// The normalisation and profile the run observes with, when the manifest holds all of it
    /// (older runs with `profile_ahead` lack the profile).
    pub fn scaling(&self) -> Option<imbarb_sim::FeatureScaling> {
        let profile = match self
            .price_profile
            .as_deref()
            .and_then(imbarb_sim::profile_from_stored)
        {
            Some(p) => p,
            None if self.config.env.observation.profile_ahead > 0 => return None,
            None => [0.0f64; 96],
        };
        // The forecast columns, appended after the market features, are normalised by their
        // forecaster, not by this scaling.
        let market = self.feature_mean.len() - self.forecast_width().min(self.feature_mean.len());
        Some(imbarb_sim::FeatureScaling {
            mean: self.feature_mean[..market].to_vec(),
            std: self.feature_std[..market.min(self.feature_std.len())].to_vec(),
            profile,
        })
    }

    /// Columns the run's forecast features add to its observation (0 without).
    pub fn forecast_width(&self) -> usize {
        self.config
            .forecast_features
            .as_ref()
            .map_or(0, |f| f.width())
    }

    /// The forecaster the run observes through, read from `dir` and checked against the
    /// manifest's checksum and config (`None` for a run without forecast features).
    pub fn forecaster(&self, dir: &Path) -> Result<Option<imbarb_plan::Forecaster>, TrainError> {
        let Some(spec) = &self.config.forecast_features else {
            return Ok(None);
        };
        let path = dir.join(FORECASTER_FILE);
        let bad = |m: String| TrainError::Checkpoint(format!("{}: {m}", path.display()));
        let ck = Checkpoint::load(&path).map_err(|e| bad(e.to_string()))?;
        if self.forecaster_sha256.as_deref() != Some(ck.digest().as_str()) {
            return Err(bad(
                "not the forecaster the manifest records (checksum differs)".into(),
            ));
        }
        let f = imbarb_plan::Forecaster::from_checkpoint(&ck, &path.display().to_string())
            .map_err(|e| bad(e.to_string()))?;
        if !spec.made(&f) {
            return Err(bad(
                "fitted with other settings than the run's config".into()
            ));
        }
        Ok(Some(f))
    }
}

/// Where a run stands, as `manifest.json` records it (`"running"` / `"finished"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Training has not reached its total steps (in progress, or interrupted: re-run resumes).
    Running,
    /// Training reached its total steps; the deployed network is final.
    Finished,
}

impl RunStatus {
    /// The word `manifest.json` holds.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the word a manifest holds, so `status == "finished"` reads as it did.
impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The files of one run directory.
pub(super) struct RunDir {
    dir: PathBuf,
    config: PathBuf,
    manifest: PathBuf,
    metrics: PathBuf,
    latest: PathBuf,
    best: PathBuf,
}

/// What a run directory held when training started.
pub(super) enum Opened {
    /// Nothing to resume: a fresh run was started.
    Fresh,
    /// The saved state was restored into the agent and training state.
    Resumed,
    /// The run had already reached its total steps.
    Finished,
}

/// The names a run directory holds (beside temporaries of interrupted writes).
const RUN_ENTRIES: [&str; 6] = [
    "config.toml",
    "manifest.json",
    "metrics.jsonl",
    "checkpoints",
    FORECASTER_FILE,
    LOCK_FILE,
];

impl RunDir {
    /// Takes the directory for this process: refuses a directory holding anything but a run's
    /// files (training would replace them), locks it for as long as the returned lock lives
    /// (another process training there is refused, naming its pid), then removes the temporary
    /// files an interrupted write left.
    pub(super) fn claim(&self) -> Result<DirLock, TrainError> {
        let foreign: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| !RUN_ENTRIES.contains(&n.as_str()) && !n.starts_with(TEMP_PREFIX))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        if !foreign.is_empty() {
            let mut shown = foreign;
            shown.sort();
            let more = shown.len().saturating_sub(3);
            shown.truncate(3);
            let list = shown.join(", ")
                + &if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
            return Err(TrainError::Foreign(self.dir.display().to_string(), list));
        }
        let lock = DirLock::acquire(&self.dir)?;
        remove_orphan_temps(&self.dir)?;
        remove_orphan_temps(&self.dir.join("checkpoints"))?;
        Ok(lock)
    }

    /// The files of the run in `dir`.
    pub(super) fn new(dir: &Path) -> RunDir {
        RunDir {
            dir: dir.to_path_buf(),
            config: dir.join("config.toml"),
            manifest: dir.join("manifest.json"),
            metrics: dir.join("metrics.jsonl"),
            latest: dir.join("checkpoints").join("latest.safetensors"),
            best: dir.join("checkpoints").join("best.safetensors"),
        }
    }

    /// Starts a fresh run, or resumes the one there: the same config and data, the full saved
    /// state restored into `agent` and `state`, metrics cut back to the checkpoint. A finished
    /// run is left as it is (only a status left at `running` by an interruption after the last
    /// checkpoint is completed; its manifest keeps the code version that trained it).
    pub(super) fn open(
        &self,
        config: &TrainConfig,
        data_hash: &str,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
    ) -> Result<Opened, TrainError> {
        std::fs::create_dir_all(self.dir.join("checkpoints")).map_err(|e| io_err(&self.dir, e))?;
        if !self.latest.exists() {
            write_atomic(&self.config, config.to_toml().as_bytes())?;
            write_atomic(&self.metrics, b"")?;
            return Ok(Opened::Fresh);
        }
        let saved = std::fs::read_to_string(&self.config).map_err(|e| io_err(&self.config, e))?;
        let saved = TrainConfig::from_toml(&saved, &self.config.display().to_string())
            .map_err(TrainError::Config)?;
        if &saved != config {
            return Err(TrainError::Config(format!(
                "{} holds a run with a different config; resume with that config or choose another output directory",
                self.dir.display()
            )));
        }
        let old = read_manifest(&self.dir)?;
        if old.data_hash != data_hash {
            return Err(TrainError::Config(format!(
                "{} was trained on other data (hash {} vs {})",
                self.dir.display(),
                old.data_hash,
                data_hash
            )));
        }
        let ck =
            Checkpoint::load(&self.latest).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        state.progress = serde_json::from_str(meta(&ck, "progress")?)
            .map_err(|e| TrainError::Checkpoint(format!("progress: {e}")))?;
        if state.progress.steps >= config.training.total_steps {
            if old.status != RunStatus::Finished {
                self.verify_best()?;
                let mut done = old;
                done.status = RunStatus::Finished;
                done.best = state.progress.best.clone();
                self.write_manifest(&done)?;
            }
            return Ok(Opened::Finished);
        }
        self.restore(&ck, agent, state)?;
        truncate_lines(&self.metrics, state.progress.metrics_lines)?;
        Ok(Opened::Resumed)
    }

    /// Restores the agent, replay, weight average and random stream from `ck`.
    fn restore(
        &self,
        ck: &Checkpoint,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        let resume_err = |e: String| {
            TrainError::Checkpoint(format!(
                "{}: {e} (a checkpoint from another imbarb version cannot resume; start a new run)",
                self.latest.display()
            ))
        };
        agent
            .load(ck, true)
            .map_err(|e| resume_err(e.to_string()))?;
        state.replay = crate::replay::ReplayBuffer::load(ck, "replay").map_err(resume_err)?;
        if let Some(a) = &mut state.average {
            a.load(ck);
        }
        state.rng = restore_rng(ck)?;
        Ok(())
    }

    /// Saves everything a resume needs (`latest.safetensors`).
    pub(super) fn save_latest(
        &self,
        agent: &dyn ValueAgent,
        state: &TrainState,
    ) -> Result<(), TrainError> {
        let ck_err = |e: imbarb_nn::NnError| TrainError::Checkpoint(e.to_string());
        let mut ck = Checkpoint::new();
        agent.save(&mut ck, true).map_err(ck_err)?;
        if let Some(a) = &state.average {
            a.save(&mut ck);
        }
        state.replay.save(&mut ck, "replay").map_err(ck_err)?;
        let progress = serde_json::to_string(&state.progress)
            .map_err(|e| TrainError::Checkpoint(format!("progress: {e}")))?;
        ck.set_meta("progress", progress);
        save_rng(&mut ck, &state.rng);
        finite(&ck, state.progress.steps)?;
        ck.save(&self.latest).map_err(ck_err)
    }

    /// Saves the forecaster the run observes through (`forecast_features`) beside its
    /// checkpoints and returns its checksum for the manifest (`None` when it observes none). A
    /// resumed run must observe through the forecaster it started with (its setup loads the saved
    /// one); any other is refused.
    pub(super) fn save_forecaster(
        &self,
        config: &TrainConfig,
        forecaster: Option<&imbarb_plan::Forecaster>,
    ) -> Result<Option<String>, TrainError> {
        let (Some(_), Some(forecaster)) = (&config.forecast_features, forecaster) else {
            return Ok(None);
        };
        let path = self.dir.join(FORECASTER_FILE);
        let bad = |m: String| TrainError::Checkpoint(format!("{}: {m}", path.display()));
        let ck = forecaster.to_checkpoint().map_err(|e| bad(e.to_string()))?;
        let digest = ck.digest();
        if path.exists() {
            let old = Checkpoint::load(&path).map_err(|e| bad(e.to_string()))?;
            if old.digest() != digest {
                return Err(bad("the forecaster fitted now differs from the one this run was trained with; train in a new directory".into()));
            }
        } else {
            ck.save(&path).map_err(|e| bad(e.to_string()))?;
        }
        Ok(Some(digest))
    }

    /// Saves `acting`'s network as the one to deploy (`best.safetensors`), tagged with its step.
    pub(super) fn save_best(&self, acting: &dyn ValueAgent, step: usize) -> Result<(), TrainError> {
        let mut ck = Checkpoint::new();
        acting
            .save(&mut ck, false)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        ck.set_meta("step", step.to_string());
        finite(&ck, step)?;
        ck.save(&self.best)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))
    }

    /// Checks that the network the run deploys loads (checksum, finite values): a run is marked
    /// finished only then.
    pub(super) fn verify_best(&self) -> Result<(), TrainError> {
        Checkpoint::load(&self.best).map(|_| ()).map_err(|e| {
            TrainError::Checkpoint(format!(
                "{e}; the deployable network is damaged, so the run cannot finish: train it again in a new directory"
            ))
        })
    }

    /// Writes `manifest.json`.
    pub(super) fn write_manifest(&self, m: &Manifest) -> Result<(), TrainError> {
        let text = serde_json::to_string_pretty(m).map_err(|e| io_err(&self.manifest, e))?;
        write_atomic(&self.manifest, text.as_bytes())
    }

    /// Appends one line to `metrics.jsonl` (fsynced).
    pub(super) fn append_metrics(&self, line: &MetricsLine) -> Result<(), TrainError> {
        let text = serde_json::to_string(line).map_err(|e| io_err(&self.metrics, e))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.metrics)
            .map_err(|e| io_err(&self.metrics, e))?;
        writeln!(f, "{text}").map_err(|e| io_err(&self.metrics, e))?;
        f.sync_data().map_err(|e| io_err(&self.metrics, e))
    }
}

/// Refuses a checkpoint with a non-finite value: the training that made it diverged.
fn finite(ck: &Checkpoint, step: usize) -> Result<(), TrainError> {
    match ck.first_non_finite() {
        Some((tensor, i)) => Err(TrainError::Diverged {
            step,
            what: format!("tensor {tensor} (value {i})"),
        }),
        None => Ok(()),
    }
}

fn meta<'a>(ck: &'a Checkpoint, k: &str) -> Result<&'a str, TrainError> {
    ck.meta(k)
        .ok_or_else(|| TrainError::Checkpoint(format!("missing `{k}`")))
}

/// Stores the random stream's seed, stream and position, so a resume continues it exactly.
fn save_rng(ck: &mut Checkpoint, rng: &ChaCha8Rng) {
    ck.set_meta("rng.seed", format!("{:?}", rng.get_seed()));
    ck.set_meta("rng.stream", rng.get_stream().to_string());
    ck.set_meta("rng.word_pos", rng.get_word_pos().to_string());
}

/// The random stream `save_rng` stored.
fn restore_rng(ck: &Checkpoint) -> Result<ChaCha8Rng, TrainError> {
    use rand::SeedableRng;
    let seed: [u8; 32] = serde_json::from_str::<Vec<u8>>(meta(ck, "rng.seed")?)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| TrainError::Checkpoint("rng.seed".into()))?;
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(
        meta(ck, "rng.stream")?
            .parse()
            .map_err(|_| TrainError::Checkpoint("rng.stream".into()))?,
    );
    rng.set_word_pos(
        meta(ck, "rng.word_pos")?
            .parse()
            .map_err(|_| TrainError::Checkpoint("rng.word_pos".into()))?,
    );
    Ok(rng)
}

/// Writes `bytes` to `path` atomically (the project's one implementation).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    Ok(imbarb_util::fs::write_atomic(path, bytes)?)
}

/// Keeps the first `n` lines of a file (metrics written after the last checkpoint are replayed
/// by the resumed run).
fn truncate_lines(path: &Path, n: usize) -> Result<(), TrainError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    write_atomic(path, kept.as_bytes())
}

/// Reads a run's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, TrainError> {
    let path = RunDir::new(dir).manifest;
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_str(&text).map_err(|e| io_err(&path, format!("not a run manifest: {e}")))
}

/// Reads a run's metrics lines (one per validation), naming the file and line of a bad one.
pub fn read_metrics(dir: &Path) -> Result<Vec<MetricsLine>, TrainError> {
    let path = RunDir::new(dir).metrics;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err(&path, e)),
    };
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| TrainError::Io {
                path: format!("{} line {}", path.display(), i + 1),
                message: e.to_string(),
            })
        })
        .collect()
}

/// A finished run another run starts from (`training.warm_start`): its full training state.
pub(super) struct WarmStart {
    from: PathBuf,
    /// The return support its networks were built on.
    pub(super) support: (f64, f64),
}

impl WarmStart {
    /// Opens the run in `from`, refusing one that is unfinished, of another algorithm, or that
    /// observed other features than `names` (the new run's observation).
    pub(super) fn open(
        from: &Path,
        config: &TrainConfig,
        names: &[String],
    ) -> Result<WarmStart, TrainError> {
        let refuse = |why: String| {
            TrainError::Config(format!("training.warm_start = {}: {why}", from.display()))
        };
        let m = read_manifest(from).map_err(|e| refuse(e.to_string()))?;
        if m.status != RunStatus::Finished {
            return Err(refuse("that run has not finished".into()));
        }
        if m.config.algo != config.algo {
            return Err(refuse(format!(
                "that run is {}, this one {}",
                m.algo,
                config.algo.name()
            )));
        }
        if m.feature_names != names {
            return Err(refuse(
                "that run observed other features (a warm start needs the same observation)".into(),
            ));
        }
        Ok(WarmStart {
            from: from.to_path_buf(),
            support: m.support_eur,
        })
    }

    /// Puts the run's networks, optimiser state and replay buffer into `agent` and `state` (the
    /// new run keeps its own step count, schedule and random stream).
    pub(super) fn restore(
        &self,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        let bad = |e: String| {
            TrainError::Checkpoint(format!(
                "training.warm_start = {}: {e}",
                self.from.display()
            ))
        };
        // Loaded only for a fresh run: a resumed or finished one has its own state.
        let path = RunDir::new(&self.from).latest;
        let checkpoint =
            Checkpoint::load(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        agent
            .load(&checkpoint, true)
            .map_err(|e| bad(e.to_string()))?;
        state.replay = crate::replay::ReplayBuffer::load(&checkpoint, "replay").map_err(bad)?;
        Ok(())
    }
}

/// Loads a run's best network for acting, with its manifest.
pub fn load_best(dir: &Path) -> Result<(Box<dyn ValueAgent>, Manifest), TrainError> {
    let manifest = read_manifest(dir)?;
    let path = RunDir::new(dir).best;
    let ck = Checkpoint::load(&path).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    let mut agent = build_agent(&manifest.config, manifest.obs_width, manifest.support_eur)
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    agent
        .load(&ck, false)
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
    Ok((agent, manifest))
}
