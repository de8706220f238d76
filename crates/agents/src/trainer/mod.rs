//! The training loop shared by every agent: batches of training days stepped in lockstep with
//! epsilon-greedy actions (or the actor-critics' sampled policy), n-step transitions into replay,
//! gradient updates, periodic greedy validation on the validation days, the best checkpoint by the
//! selection measure (or the final one, `training.deploy`), and a full-state checkpoint from which
//! an interrupted run resumes to the same result.
//!
//! A run directory holds `config.toml`, `manifest.json`, `metrics.jsonl` and `checkpoints/`
//! (`latest.safetensors`: everything needed to resume; `best.safetensors`: the network to deploy).

mod collector;
mod learner;
mod metrics;
mod run_dir;
mod state;
mod validator;

pub use collector::{next_day_start, shadow_prices, training_reward};
pub use metrics::MetricsLine;
pub use run_dir::{load_best, read_manifest, read_metrics, Manifest, RunStatus, FORECASTER_FILE};
pub use state::{TrainData, TrainError, TrainOptions, TrainOutcome, Validation};
pub use validator::{significant_lead, validate, GreedyPolicy};

use crate::build::build_agent;
use crate::config::{Support, TrainConfig};
use crate::value::ValueAgent;
use collector::Collector;
use imbarb_sim::MarketDays;
use learner::Learner;
use run_dir::{Opened, RunDir};
use state::{Progress, TrainState, RECENT};
use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;
use validator::Validator;

/// The code version compiled into this binary (crate version and git commit).
pub const CODE_VERSION: &str = env!("IMBARB_CODE_VERSION");

/// The support C51 uses when `support = auto`: +-M EUR with M = 0.15 x H x the 95th percentile
/// of the full-power reward magnitude |price| x P x duration over training quarter-hours, and
/// H = min(1 / (1 - gamma), decisions per day) the effective horizon. On the Belgian file that is
/// about +-2,100 EUR (an oracle day earns ~2,000): wide enough for discounted returns, and with
/// 101 atoms fine enough (~40 EUR) to tell actions apart. (0.5 x H, tried first, gave +-7,000 EUR
/// and atoms 280 EUR apart, and C51 could not resolve one step's reward.)
pub fn auto_support(config: &TrainConfig, days: &MarketDays, train: &[usize]) -> (f64, f64) {
    if let Support::Fixed { v_min, v_max } = config.distribution.support {
        return (v_min, v_max);
    }
    let b = &config.env.battery;
    let p = b.charge_power_mw.max(b.discharge_power_mw);
    let dt = config.env.granularity.duration_h();
    let mut r: Vec<f64> = train
        .iter()
        .flat_map(|&d| days.days[d].prices.iter())
        .map(|q| q.long_eur_per_mwh().abs().max(q.short_eur_per_mwh().abs()) * p * dt)
        .collect();
    r.sort_by(f64::total_cmp);
    let p95 = r.get(r.len() * 95 / 100).copied().unwrap_or(100.0);
    let per_day = 96 * config.env.granularity.decisions_per_qh();
    let gamma = config.training.gamma as f64;
    let horizon = if gamma < 1.0 {
        (1.0 / (1.0 - gamma)).min(per_day as f64)
    } else {
        per_day as f64
    };
    let m = (0.15 * horizon * p95).max(1.0);
    (-m, m)
}

/// Trains (or resumes) the run in `dir`. A directory with a `latest` checkpoint resumes when its
/// `config.toml` equals `config`; a different config is an error (choose another directory).
pub fn train(
    data: &TrainData,
    config: &TrainConfig,
    dir: &Path,
    options: &TrainOptions,
) -> Result<TrainOutcome, TrainError> {
    config.check().map_err(TrainError::Config)?;
    if data.train.is_empty() || data.validation.is_empty() {
        return Err(TrainError::Config(
            "training needs training and validation days (check the split)".into(),
        ));
    }
    if config.forecast_features.is_some() != data.forecaster.is_some() {
        return Err(TrainError::Config(
            "forecast_features: the training data's forecaster does not match the config (build it with the config's forecast_features)".into(),
        ));
    }
    imbarb_nn::set_threads(config.training.threads);
    let obs_width = data.features.observation_width();
    check_residual_columns(config, &data.features.observation_names())?;
    if let Some(available) = imbarb_util::sys::total_memory_bytes() {
        crate::limits::check_memory(config, obs_width, available).map_err(TrainError::Config)?;
    }
    let n_actions = config.n_actions();
    let warm = match &config.training.warm_start {
        Some(from) => Some(run_dir::WarmStart::open(
            Path::new(from),
            config,
            &data.features.observation_names(),
        )?),
        None => None,
    };
    // A warm start keeps its run's return support: the networks' outputs are defined on it.
    let support = warm.as_ref().map_or_else(
        || auto_support(config, data.days, data.train),
        |w| w.support,
    );
    let mut agent =
        build_agent(config, obs_width, support).map_err(|e| TrainError::Config(e.to_string()))?;
    let mut state = TrainState::fresh(config, obs_width, n_actions);
    let run = RunDir::new(dir);
    let _owned = run.claim()?;
    let mut manifest = Manifest {
        algo: config.algo.name().into(),
        seed: config.seed,
        config: config.clone(),
        data_hash: data.data_hash.clone(),
        code_version: CODE_VERSION.into(),
        feature_names: data.features.observation_names(),
        feature_mean: data.features.mean.clone(),
        feature_std: data.features.std.clone(),
        obs_width,
        support_eur: support,
        train_days: data.train.len(),
        validation_days: data.validation.len(),
        status: RunStatus::Running,
        best: None,
        price_profile: Some(imbarb_sim::profile_to_stored(&data.features.profile)),
        market: Some(format!("{:?}", data.days.market)),
        training_prices: imbarb_market::stats::PriceSummary::of(data.train.iter().flat_map(|&d| {
            data.days.days[d]
                .prices
                .iter()
                .map(|p| p.reference_eur_per_mwh())
        })),
        trained_until: data.train.iter().map(|&d| data.days.days[d].date).max(),
        forecaster_sha256: None,
    };
    let mut fresh = false;
    match run.open(config, &data.data_hash, agent.as_mut(), &mut state)? {
        Opened::Finished => {
            let p = &state.progress;
            return Ok(outcome(true, p, Instant::now(), p.steps, p.updates));
        }
        Opened::Resumed => manifest.best = state.progress.best.clone(),
        Opened::Fresh => {
            if let Some(w) = &warm {
                w.restore(agent.as_mut(), &mut state)?;
            }
            fresh = true;
        }
    }
    // Learning acts with the network, whatever a loaded checkpoint deployed.
    agent.follow_plan(false);
    manifest.forecaster_sha256 = run.save_forecaster(config, data.forecaster)?;
    run.write_manifest(&manifest)?;
    let mut session = Session::start(data, config, options, &state.progress)?;
    let mut collector = Collector::new(config.training.envs, obs_width, n_actions);
    let mut learner = Learner::new(obs_width, data.features.width);
    let mut validator = Validator::new(obs_width, support);
    // A residual agent's first candidate is its planner alone, validated before any step (in
    // every walk-forward month too: a warm start restarts from the last month's network).
    if fresh && agent.follow_plan(true) {
        let recorded = validate_and_record(
            &mut validator,
            agent.as_mut(),
            &mut state,
            data,
            config,
            &run,
            &session,
            &mut manifest,
            true,
        );
        agent.follow_plan(false);
        recorded?;
        run.write_manifest(&manifest)?;
    }
    let t = &config.training;
    let mut rounds_this_call = 0usize;
    while state.progress.steps < t.total_steps {
        let round = collector.round(
            &mut session.env,
            agent.as_mut(),
            &mut state,
            &mut learner,
            data,
            config,
        );
        state.progress.rounds += 1;
        rounds_this_call += 1;
        if let Some(step) = learner.diverged_at() {
            session.bar.abandon();
            return Err(TrainError::Diverged {
                step,
                what: "the training loss".into(),
            });
        }
        if let Some(a) = &mut state.average {
            a.observe(agent.as_ref(), round.steps)
                .map_err(|e| TrainError::Checkpoint(format!("weight average: {e}")))?;
        }
        for r in round.returns {
            push_recent(&mut state.progress.recent_returns, r);
        }
        if let Some(loss) = learner.take_round_loss() {
            push_recent(&mut state.progress.recent_losses, loss);
        }
        session.show(agent.as_ref(), config, &state.progress);
        let p = &state.progress;
        if p.steps >= p.next_validation || p.steps >= t.total_steps {
            while state.progress.next_validation <= state.progress.steps {
                state.progress.next_validation += t.validate_every;
            }
            validate_and_record(
                &mut validator,
                agent.as_mut(),
                &mut state,
                data,
                config,
                &run,
                &session,
                &mut manifest,
                false,
            )?;
            if state.progress.steps >= t.total_steps {
                run.verify_best()?;
                manifest.status = RunStatus::Finished;
            }
            run.write_manifest(&manifest)?;
        }
        if options
            .stop_after_rounds
            .is_some_and(|n| rounds_this_call >= n)
            && state.progress.steps < t.total_steps
        {
            session.bar.abandon();
            return Ok(session.outcome(false, &state.progress));
        }
        let stop_requested = options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Acquire));
        if stop_requested && state.progress.steps < t.total_steps {
            // A round ends at day boundaries: nothing is in flight, so its checkpoint resumes
            // exactly.
            run.save_latest(agent.as_ref(), &state)?;
            run.write_manifest(&manifest)?;
            session.bar.abandon();
            return Ok(session.outcome(false, &state.progress));
        }
    }
    session.bar.finish();
    Ok(session.outcome(true, &state.progress))
}

/// One call of `train`: its environment, progress bar, clock and the counters it started from.
struct Session<'a> {
    env: imbarb_sim::VecEnv<'a>,
    bar: indicatif::ProgressBar,
    started: Instant,
    steps_at_start: usize,
    updates_at_start: u64,
}

impl<'a> Session<'a> {
    fn start(
        data: &TrainData<'a>,
        config: &TrainConfig,
        options: &TrainOptions,
        progress: &Progress,
    ) -> Result<Session<'a>, TrainError> {
        let total = config.training.total_steps;
        let bar = if options.progress {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} | {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(progress.steps as u64);
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let env = imbarb_sim::VecEnv::new(data.days, data.features, config.env.clone())?;
        Ok(Session {
            env,
            bar,
            started: Instant::now(),
            steps_at_start: progress.steps,
            updates_at_start: progress.updates,
        })
    }

    /// Seconds since the session started, and its environment steps and updates per second.
    fn rates(&self, p: &Progress) -> (f64, f64, f64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let sps = (p.steps - self.steps_at_start) as f64 / elapsed;
        let ups = (p.updates - self.updates_at_start) as f64 / elapsed;
        (elapsed, sps, ups)
    }

    /// Updates the progress bar after a round.
    fn show(&self, agent: &dyn ValueAgent, config: &TrainConfig, p: &Progress) {
        let (_, sps, ups) = self.rates(p);
        self.bar
            .set_position(p.steps.min(config.training.total_steps) as u64);
        // Value agents explore epsilon-greedily; actor-critics report their own state (alpha).
        let exploration = match agent.diagnostics().first() {
            Some((name, x)) => format!("{name} {x:.3}"),
            None => format!("eps {:.3}", config.epsilon(p.steps)),
        };
        self.bar.set_message(format!(
            "{sps:.0} steps/s {ups:.0} upd/s | return {:.0} EUR/day | {exploration} | best val {}",
            mean(&p.recent_returns),
            p.best
                .as_ref()
                .map_or("-".into(), |v| format!("{:.1}", v.eur_per_day)),
        ));
    }

    /// The metrics line of validation `v`.
    fn metrics_line(
        &self,
        agent: &dyn ValueAgent,
        config: &TrainConfig,
        p: &Progress,
        v: &Validation,
        daily: &[f64],
        deployed: bool,
    ) -> MetricsLine {
        let (wall_s, env_steps_per_s, updates_per_s) = self.rates(p);
        MetricsLine {
            step: p.steps,
            rounds: p.rounds,
            updates: p.updates,
            epsilon: config.epsilon(p.steps),
            train_return_eur_per_day: mean(&p.recent_returns),
            loss: mean(&p.recent_losses),
            val_eur_per_day: v.eur_per_day,
            val_selection: v.selection,
            val_cycles_per_day: v.cycles_per_day,
            val_daily_eur: daily.to_vec(),
            best: deployed,
            wall_s,
            env_steps_per_s,
            updates_per_s,
            diagnostics: agent
                .diagnostics()
                .into_iter()
                .map(|(k, x)| (k.to_string(), x))
                .collect(),
        }
    }

    fn outcome(&self, finished: bool, p: &Progress) -> TrainOutcome {
        outcome(
            finished,
            p,
            self.started,
            self.steps_at_start,
            self.updates_at_start,
        )
    }
}

fn outcome(
    finished: bool,
    p: &Progress,
    started: Instant,
    steps_at_start: usize,
    updates_at_start: u64,
) -> TrainOutcome {
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    TrainOutcome {
        finished,
        steps: p.steps,
        updates: p.updates,
        best: p.best.clone(),
        env_steps_per_s: (p.steps - steps_at_start) as f64 / elapsed,
        updates_per_s: (p.updates - updates_at_start) as f64 / elapsed,
    }
}

fn push_recent(q: &mut VecDeque<f64>, x: f64) {
    if q.len() == RECENT {
        q.pop_front();
    }
    q.push_back(x);
}

fn mean(q: &VecDeque<f64>) -> f64 {
    if q.is_empty() {
        0.0
    } else {
        q.iter().sum::<f64>() / q.len() as f64
    }
}

/// One validation of the acting network at the current step (`planner`: a residual agent's
/// planner alone), recorded: deployed when the validator says so, its metrics line appended,
/// the manifest's best updated and the training state saved (`latest`) for a resume from here.
#[allow(clippy::too_many_arguments)]
fn validate_and_record(
    validator: &mut Validator,
    agent: &mut dyn ValueAgent,
    state: &mut TrainState,
    data: &TrainData,
    config: &TrainConfig,
    run: &RunDir,
    session: &Session,
    manifest: &mut Manifest,
    planner: bool,
) -> Result<(), TrainError> {
    let (v, daily, deployed) =
        validator.validate_and_deploy(agent, state, data, config, run, planner)?;
    let line = session.metrics_line(agent, config, &state.progress, &v, &daily, deployed);
    run.append_metrics(&line)?;
    state.progress.metrics_lines += 1;
    manifest.best = state.progress.best.clone();
    run.save_latest(agent, state)
}

/// A residual agent reads the plan from the columns just before the battery's: refuses
/// observations that hold anything else there (the frame would read the wrong numbers).
fn check_residual_columns(config: &TrainConfig, names: &[String]) -> Result<(), TrainError> {
    let Some(plan) = config.residual_plan() else {
        return Ok(());
    };
    let want = plan
        .names(&config.env.battery)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let end = names.len().saturating_sub(imbarb_sim::BATTERY_FEATURES);
    let got = &names[end.saturating_sub(want.len())..end];
    if got != want.as_slice() {
        return Err(TrainError::Config(format!(
            "forecast_features.plan.residual: the observation's last market columns are {got:?}, not the plan's {want:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A residual agent reads its plan from the columns before the battery's: observations that
    /// hold anything else there are refused by key.
    #[test]
    fn residual_columns_must_end_the_market_features() {
        let mut config = TrainConfig::default();
        let plan = imbarb_plan::PlanColumns {
            soc_points: 2,
            residual: true,
            ..imbarb_plan::PlanColumns::default()
        };
        config.forecast_features = Some(imbarb_plan::ForecastFeatures {
            plan: Some(plan.clone()),
            ..imbarb_plan::ForecastFeatures::default()
        });
        let battery: Vec<String> = imbarb_sim::BATTERY_FEATURE_NAMES
            .iter()
            .map(|n| n.to_string())
            .collect();
        let plan_names = plan.names(&config.env.battery).expect("names");
        let good = [
            vec!["price_lag1".to_string()],
            plan_names.clone(),
            battery.clone(),
        ]
        .concat();
        assert!(check_residual_columns(&config, &good).is_ok());
        let bad = [plan_names, vec!["price_lag1".to_string()], battery].concat();
        let e = check_residual_columns(&config, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("forecast_features.plan.residual"), "{e}");
        // Not residual: nothing to check.
        config.forecast_features = None;
        assert!(check_residual_columns(&config, &bad).is_ok());
    }
}
