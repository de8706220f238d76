//! Validation and deployment: a greedy backtest of the acting network (the weight average when
//! configured, else the learning one) over the validation days, its selection measure, and the
//! choice of the network to deploy (`best.safetensors`: the best so far, or the latest with
//! `training.deploy = "final"`).

use super::run_dir::RunDir;
use super::state::{TrainData, TrainError, TrainState, Validation};
use crate::build::build_agent;
use crate::config::{Deploy, TrainConfig};
use crate::value::ValueAgent;
use imbarb_risk::Discrete;
use imbarb_sim::{rollout, Action, Decision, Policy};

/// A trained agent acting greedily on its risk measure, as a `Policy` (validation and backtests).
pub struct GreedyPolicy<'a> {
    /// The agent.
    pub agent: &'a mut dyn ValueAgent,
    /// Name for reports.
    pub name: String,
    actions: Vec<Action>,
}

impl<'a> GreedyPolicy<'a> {
    /// Wraps an agent.
    pub fn new(agent: &'a mut dyn ValueAgent, name: String) -> Self {
        GreedyPolicy {
            agent,
            name,
            actions: vec![],
        }
    }
}

impl Policy for GreedyPolicy<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, d: &Decision) -> Action {
        self.agent.act(d.observation, d.mask, 1, &mut self.actions);
        self.actions[0]
    }
}

/// Greedy backtest over `days` (chronological, SoC per the battery's rule): daily P&L in EUR and
/// cycles per day.
pub fn validate(
    agent: &mut dyn ValueAgent,
    data: &TrainData,
    config: &TrainConfig,
    day_indices: &[usize],
) -> Result<(Vec<f64>, f64), imbarb_sim::SimError> {
    // Per day: P&L and the cycles used by its last decision.
    let mut daily: Vec<(usize, f64, f64)> = vec![];
    let mut policy = GreedyPolicy::new(agent, String::new());
    rollout(
        data.days,
        data.features,
        &config.env,
        day_indices,
        &mut policy,
        |s| {
            if daily.last().is_none_or(|d| d.0 != s.day_index) {
                daily.push((s.day_index, 0.0, 0.0));
            }
            if let Some(d) = daily.last_mut() {
                d.1 += s.reward_eur;
                d.2 = s.cycles_after;
            }
        },
    )?;
    let cycles: f64 = daily.iter().map(|d| d.2).sum();
    let daily: Vec<f64> = daily.iter().map(|d| d.1).collect();
    let n = daily.len().max(1) as f64;
    Ok((daily, cycles / n))
}

/// Validates and deploys; holds the second agent that acts with averaged weights.
pub(super) struct Validator {
    obs_width: usize,
    support: (f64, f64),
    averaged_agent: Option<Box<dyn ValueAgent>>,
}

impl Validator {
    /// A validator for agents of this observation width and C51 support.
    pub(super) fn new(obs_width: usize, support: (f64, f64)) -> Validator {
        Validator {
            obs_width,
            support,
            averaged_agent: None,
        }
    }

    /// Validates the acting network at the current step and, if it is to be deployed, saves it
    /// as `best.safetensors` and records it in `state`. Returns the validation and whether it
    /// was deployed.
    pub(super) fn validate_and_deploy(
        &mut self,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
        data: &TrainData,
        config: &TrainConfig,
        run: &RunDir,
    ) -> Result<(Validation, bool), TrainError> {
        // With weight averaging, validation and the best checkpoint use the averaged weights,
        // loaded into a second agent so that the learning one keeps its state.
        let acting: &mut dyn ValueAgent = match state.average.as_ref().and_then(|a| a.weights()) {
            Some(weights) => {
                let a = match &mut self.averaged_agent {
                    Some(a) => a,
                    None => self.averaged_agent.insert(
                        build_agent(config, self.obs_width, self.support)
                            .map_err(|e| TrainError::Config(e.to_string()))?,
                    ),
                };
                a.load(weights, false)
                    .map_err(|e| TrainError::Checkpoint(format!("weight average: {e}")))?;
                a.as_mut()
            }
            None => agent,
        };
        let (daily, cycles) = validate(acting, data, config, data.validation)?;
        let samples = Discrete::samples(&daily)
            .ok_or_else(|| TrainError::Config("validation produced no finite P&L".into()))?;
        let v = Validation {
            step: state.progress.steps,
            eur_per_day: samples.mean(),
            selection: config.selection.evaluate(&samples),
            cycles_per_day: cycles,
        };
        // Whether this validated network becomes the deployed one (`best.safetensors`).
        let deploy_this = match config.training.deploy {
            Deploy::BestValidation => state
                .progress
                .best
                .as_ref()
                .is_none_or(|b| v.selection > b.selection),
            Deploy::Final => true,
        };
        if deploy_this {
            run.save_best(acting, v.step)?;
            state.progress.best = Some(v.clone());
        }
        Ok((v, deploy_this))
    }
}
