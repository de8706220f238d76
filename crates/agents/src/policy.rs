//! A trained run as a `Policy`: `imbarb backtest --policy run:<dir>` evaluates it like any
//! baseline. The run observes through its own feature configuration (built on the backtest's
//! days), re-normalised from the backtest's training statistics to the run's, so a run can be
//! evaluated next to policies that see other features, on other data or another split.

use crate::residual::{PlanFrame, Residual};
use crate::trainer::{load_best, Manifest, TrainError};
use crate::value::ValueAgent;
use imbarb_sim::{
    components_in, Action, ActionSpace, Decision, EnvConfig, MarketDays, MarketFeatures, Policy,
    BATTERY_FEATURES,
};
use std::path::Path;

/// A trained agent acting greedily on its risk measure.
pub struct RunPolicy {
    agent: Box<dyn ValueAgent>,
    name: String,
    /// The run's market features on the backtest's days.
    features: MarketFeatures,
    /// Per market-feature column: x_run = x * scale + shift (battery features pass through).
    scale: Vec<f32>,
    shift: Vec<f32>,
    levels: usize,
    continuous: bool,
    obs: Vec<f32>,
    actions: Vec<Action>,
}

impl RunPolicy {
    /// Loads the best checkpoint of the run in `dir` to act on `days` (features normalised on
    /// `train`) in an environment configured by `env`. Errors when the decision granularity or
    /// the number of action levels differ from training.
    pub fn load(
        dir: &Path,
        days: &MarketDays,
        train: &[usize],
        env: &EnvConfig,
    ) -> Result<RunPolicy, TrainError> {
        RunPolicy::open(dir, days, train, env, false)
    }

    /// The planner the run in `dir` observes (`[forecast_features.plan]`, over its saved
    /// forecaster), acting alone: at each decision the plan's move at the battery's state of
    /// charge, or the allowed level nearest to it: the run's agent in the plan's frame,
    /// following it (`Residual::follow_plan`). What a residual agent adjusts, as a baseline of
    /// its own. Loaded and checked as `load`; an error for a run without plan columns.
    pub fn load_plan(
        dir: &Path,
        days: &MarketDays,
        train: &[usize],
        env: &EnvConfig,
    ) -> Result<RunPolicy, TrainError> {
        RunPolicy::open(dir, days, train, env, true)
    }

    /// `load`, or with `follow_plan` `load_plan`.
    fn open(
        dir: &Path,
        days: &MarketDays,
        train: &[usize],
        env: &EnvConfig,
        follow_plan: bool,
    ) -> Result<RunPolicy, TrainError> {
        let (agent, manifest) = load_best(dir)?;
        let run_env = &manifest.config.env;
        let mismatch = |what: &str| {
            TrainError::Config(format!(
                "run {} was trained with another {what}; evaluate it with the run's settings",
                dir.display()
            ))
        };
        if run_env.granularity != env.granularity {
            return Err(mismatch("decision granularity"));
        }
        // The run's own normalisation and profile where its manifest holds them (the
        // observation `imbarb decide` rebuilds, exactly); older runs' features are re-normalised.
        let comps = components_in(&manifest.feature_names);
        if comps.iter().any(|&k| !days.components_present[k]) {
            return Err(mismatch(
                "data (the run observes system components this data lacks)",
            ));
        }
        let scaling = manifest.scaling();
        let mut features = match &scaling {
            Some(scaling) => MarketFeatures::build_scaled(
                days,
                &run_env.observation,
                run_env.granularity,
                &comps,
                scaling,
            )?,
            None => MarketFeatures::build(days, &run_env.observation, run_env.granularity, train)?,
        };
        append_run_forecast(dir, &manifest, days, &mut features)?;
        let fw = features.width;
        if manifest.feature_names.len() != fw + BATTERY_FEATURES
            || manifest.feature_names[..fw] != features.names[..]
        {
            return Err(mismatch("observation (feature list)"));
        }
        let (scale, shift) = if scaling.is_some() {
            (vec![1.0; fw], vec![0.0; fw])
        } else {
            remap(&manifest, &features)
        };
        let (agent, levels) = match follow_plan {
            true => following_plan(agent, &manifest, dir)?,
            false => (agent, manifest.config.n_actions()),
        };
        let continuous = match (env.actions, manifest.config.env.actions) {
            (ActionSpace::Continuous, _) => true,
            (ActionSpace::Discrete { .. }, ActionSpace::Continuous) => {
                return Err(TrainError::Config(format!(
                    "run {} acts on continuous power; evaluate it with --actions continuous",
                    dir.display()
                )))
            }
            (ActionSpace::Discrete { levels: l }, _) if l == levels => false,
            (ActionSpace::Discrete { .. }, _) => return Err(mismatch("number of action levels")),
        };
        Ok(RunPolicy {
            name: format!(
                "{}{}:{}",
                manifest.algo,
                if follow_plan { "-plan" } else { "" },
                dir.file_name()
                    .map_or("run".into(), |n| n.to_string_lossy().to_string())
            ),
            agent,
            features,
            scale,
            shift,
            levels,
            continuous,
            obs: vec![],
            actions: vec![],
        })
    }
}

/// The run's agent in the plan's frame, acting as the plan alone, with its number of levels
/// (a continuous run's plan moves at full power or waits: three levels of power).
fn following_plan(
    agent: Box<dyn ValueAgent>,
    manifest: &Manifest,
    dir: &Path,
) -> Result<(Box<dyn ValueAgent>, usize), TrainError> {
    let config = &manifest.config;
    let plan = config
        .forecast_features
        .as_ref()
        .and_then(|f| f.plan.as_ref())
        .ok_or_else(|| {
            TrainError::Config(format!(
                "run {} observes no planner ([forecast_features.plan]): nothing to follow",
                dir.display()
            ))
        })?;
    let levels = match config.env.actions {
        ActionSpace::Continuous => 3,
        ActionSpace::Discrete { levels } => levels,
    };
    let frame = PlanFrame::new(plan, &config.env.battery, levels, manifest.obs_width)
        .map_err(|e| TrainError::Config(format!("run {}: {e}", dir.display())))?;
    let mut following = Residual::new(agent, frame);
    following.follow_plan(true);
    Ok((Box::new(following), levels))
}

/// Appends the forecast columns a run observes (`forecast_features`: its saved forecaster's
/// quantiles on `days`) to its market features; nothing for a run without them.
pub fn append_run_forecast(
    dir: &Path,
    manifest: &Manifest,
    days: &MarketDays,
    features: &mut MarketFeatures,
) -> Result<(), TrainError> {
    if let (Some(spec), Some(forecaster)) = (
        &manifest.config.forecast_features,
        manifest.forecaster(dir)?,
    ) {
        spec.append(&forecaster, days, &manifest.config.env.battery, features)
            .map_err(|e| TrainError::Config(format!("run {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// The affine map from the backtest's normalisation to the run's, per market-feature column.
fn remap(m: &Manifest, f: &MarketFeatures) -> (Vec<f32>, Vec<f32>) {
    (0..f.width)
        .map(|c| {
            let (mu_b, sd_b) = (f.mean[c], f.std[c]);
            let (mu_r, sd_r) = (m.feature_mean[c], m.feature_std[c]);
            // raw = x * sd_b + mu_b; x_run = (raw - mu_r) / sd_r.
            ((sd_b / sd_r) as f32, ((mu_b - mu_r) / sd_r) as f32)
        })
        .unzip()
}

impl Policy for RunPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, d: &Decision) -> Action {
        // The run's market features for this decision, then the battery's (the last three of
        // every observation).
        self.obs.clear();
        self.obs
            .extend_from_slice(self.features.row(d.day_index, d.step));
        for ((x, s), t) in self.obs.iter_mut().zip(&self.scale).zip(&self.shift) {
            *x = *x * s + t;
        }
        let battery = d.observation.len().saturating_sub(BATTERY_FEATURES);
        self.obs.extend_from_slice(&d.observation[battery..]);
        self.agent.act(&self.obs, d.mask, 1, &mut self.actions);
        // A discrete run in a continuous backtest requests its level's power.
        match self.actions[0] {
            Action::Discrete(i) if self.continuous => {
                Action::Continuous(ActionSpace::level_fraction(i, self.levels))
            }
            action => action,
        }
    }
}
