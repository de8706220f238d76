//! Fitted forecasters kept by what they were fitted on, so that runs fitting the same one fit it
//! once (issue #26: the planner's inputs computed once per data and forecaster version). The runs
//! of an experiment grid that differ only in agent seed or cycle cap train on the same days with
//! the same forecaster settings; `imbarb experiment` gives them one cache, `imbarb train
//! --forecaster-cache DIR` any other caller.
//!
//! An entry is named by a SHA-256 of the code version, the data hash, the training dates and the
//! forecaster's settings, so a change to any of them fits anew. Entries are written atomically and
//! a fit holds an OS file lock on its entry's lock file (released when the process ends, however
//! it ends), so concurrent runs wait for one fit instead of repeating it.

use anyhow::{Context, Result};
use imbarb_nn::Checkpoint;
use imbarb_plan::{ForecastFeatures, Forecaster};
use imbarb_sim::MarketDays;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A directory of fitted forecasters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecasterCache {
    /// Where the entries live (created on first use).
    pub dir: PathBuf,
}

/// What a lookup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The forecaster was read from the cache.
    Hit,
    /// It was fitted and stored.
    Fitted,
}

impl ForecasterCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> ForecasterCache {
        ForecasterCache { dir: dir.into() }
    }

    /// The entry's name for `spec`'s forecaster fitted on `train` of `days` (data `data_hash`).
    pub fn key(
        spec: &ForecastFeatures,
        days: &MarketDays,
        train: &[usize],
        data_hash: &str,
    ) -> Result<String> {
        let dates: Vec<String> = train
            .iter()
            .map(|&i| days.days[i].date.to_string())
            .collect();
        let identity = serde_json::json!({
            "code_version": imbarb_agents::trainer::CODE_VERSION,
            "data_hash": data_hash,
            "training_days": dates,
            "forecaster": spec.forecaster,
            "trees": spec.trees,
        });
        let text = serde_json::to_string(&identity).context("naming a forecaster cache entry")?;
        Ok(Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// `spec`'s forecaster fitted on `train`, from the cache when an entry exists, else fitted
    /// and stored. The result went through the saved form either way, so a hit and a fit give
    /// the same numbers.
    pub fn fit(
        &self,
        spec: &ForecastFeatures,
        days: &MarketDays,
        train: &[usize],
        data_hash: &str,
    ) -> Result<(Forecaster, CacheOutcome)> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("forecaster cache {}", self.dir.display()))?;
        let key = Self::key(spec, days, train, data_hash)?;
        let entry = self.dir.join(format!("{key}.safetensors"));
        let lock_path = self.dir.join(format!("{key}.lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("forecaster cache lock {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        if entry.exists() {
            match load(&entry) {
                Ok(f) if spec.made(&f) => return Ok((f, CacheOutcome::Hit)),
                // An unreadable or foreign entry is replaced, not trusted.
                Ok(_) | Err(_) => {}
            }
        }
        let (saved, checkpoint) = fit_saved(spec, days, train)?;
        checkpoint
            .save(&entry)
            .with_context(|| format!("storing {}", entry.display()))?;
        Ok((saved, CacheOutcome::Fitted))
    }
}

/// `spec`'s forecaster fitted on `train` and read back from its saved form (with that form):
/// what a run observes through is exactly what its `forecaster.safetensors` rebuilds.
pub fn fit_saved(
    spec: &ForecastFeatures,
    days: &MarketDays,
    train: &[usize],
) -> Result<(Forecaster, Checkpoint)> {
    let fitted = spec
        .fit(days, train)
        .context("fitting the forecaster of forecast_features")?;
    let checkpoint = fitted.to_checkpoint()?;
    let saved = Forecaster::from_checkpoint(&checkpoint, "the fitted forecaster")?;
    Ok((saved, checkpoint))
}

/// Reads one entry.
fn load(path: &Path) -> Result<Forecaster> {
    let origin = path.display().to_string();
    let ck = Checkpoint::load(path)?;
    Ok(Forecaster::from_checkpoint(&ck, &origin)?)
}
