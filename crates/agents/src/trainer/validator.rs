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

    /// Validates the acting network (`planner`: a residual agent following its plan) at the
    /// current step and, if it is to be deployed, saves it as `best.safetensors` and records it
    /// in `state`. Returns the validation, its daily P&L and whether it was deployed.
    pub(super) fn validate_and_deploy(
        &mut self,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
        data: &TrainData,
        config: &TrainConfig,
        run: &RunDir,
        planner: bool,
    ) -> Result<(Validation, Vec<f64>, bool), TrainError> {
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
        // Whether this validated network becomes the deployed one (`best.safetensors`): under
        // best-validation a network must also lead the planner on evidence, when asked to.
        let confidence = config.training.planner_lead_confidence;
        let leads_planner = match (&state.progress.planner_daily, planner) {
            (Some(plan), false) if confidence > 0.0 => significant_lead(&daily, plan, confidence),
            _ => true,
        };
        let deploy_this = match config.training.deploy {
            Deploy::BestValidation => {
                leads_planner
                    && state
                        .progress
                        .best
                        .as_ref()
                        .is_none_or(|b| v.selection > b.selection)
            }
            Deploy::Final => true,
        };
        if planner {
            state.progress.planner_daily = Some(daily.clone());
        }
        if deploy_this {
            run.save_best(acting, v.step)?;
            state.progress.best = Some(v.clone());
        }
        Ok((v, daily, deploy_this))
    }
}

/// Whether `a` earns more than `b` day by day (paired by index, equal lengths) at one-sided
/// `confidence` (0..1): a Student t test on the daily differences, t = mean / (sd / sqrt(n))
/// against the t distribution's `confidence` quantile with n - 1 degrees of freedom. Differences
/// that never vary lead iff positive; fewer than two days, unequal lengths or a non-finite
/// value are no evidence.
pub fn significant_lead(a: &[f64], b: &[f64], confidence: f64) -> bool {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = a.len();
    if n < 2 || n != b.len() {
        return false;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    if d.iter().any(|x| !x.is_finite()) {
        return false;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    if var == 0.0 {
        return mean > 0.0;
    }
    let t = mean / (var / n as f64).sqrt();
    match StudentsT::new(0.0, 1.0, (n - 1) as f64) {
        Ok(dist) => t > dist.inverse_cdf(confidence),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::significant_lead;

    /// Differences 10, 20, 30 (mean 20, sd 10, n 3): t = 20 / (10 / sqrt 3) = 3.464; the t
    /// distribution with 2 degrees of freedom has its 0.95 quantile at 2.920 and its 0.975 at
    /// 4.303, so the lead is significant at 0.95 and not at 0.975.
    #[test]
    fn a_lead_is_tested_against_the_t_quantile_by_hand() {
        let planner = [100.0, -50.0, 300.0];
        let network = [110.0, -30.0, 330.0];
        assert!(significant_lead(&network, &planner, 0.95));
        assert!(!significant_lead(&network, &planner, 0.975));
        // Reversed, it trails: never a lead.
        assert!(!significant_lead(&planner, &network, 0.5));
        // Differences -10, 20, 50 (mean 20, sd 30): t = 1.155, above the 0.75 quantile (0.816)
        // and below the 0.9 quantile (1.886).
        let noisy = [90.0, -30.0, 350.0];
        assert!(significant_lead(&noisy, &planner, 0.75));
        assert!(!significant_lead(&noisy, &planner, 0.9));
    }

    /// A constant difference leads iff positive; one day, unequal days or a non-finite P&L is
    /// no evidence.
    #[test]
    fn degenerate_differences_are_no_evidence_unless_always_ahead() {
        assert!(significant_lead(&[2.0, 3.0], &[1.0, 2.0], 0.99));
        assert!(!significant_lead(&[1.0, 2.0], &[1.0, 2.0], 0.5));
        assert!(!significant_lead(&[5.0], &[1.0], 0.5));
        assert!(!significant_lead(&[5.0, 6.0], &[1.0], 0.5));
        assert!(!significant_lead(&[f64::NAN, 6.0], &[1.0, 2.0], 0.5));
    }
}
