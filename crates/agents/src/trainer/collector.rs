//! Experience collection: one round steps `envs` random training days in lockstep from their
//! first to their last decision, choosing actions by the agent's exploration (its own, or
//! epsilon-greedy on its scores), booking n-step transitions into replay (bootstrapping across
//! midnight into the next calendar day where configured) and letting the learner update after
//! every step.

use super::learner::Learner;
use super::state::{TrainData, TrainState};
use crate::config::{ShadowPriceSchedule, TrainConfig};
use crate::replay::{NStep, Step};
use crate::value::{masked_argmax, ValueAgent};
use imbarb_sim::{battery_observation, Action, VecEnv};
use rand::Rng;

/// What one round produced besides replay and updates.
pub(super) struct Round {
    /// Each day's undiscounted return, EUR.
    pub returns: Vec<f64>,
    /// Environment steps taken in the round.
    pub steps: usize,
}

/// The collector's scratch buffers.
pub(super) struct Collector {
    obs_width: usize,
    n_actions: usize,
    scores: Vec<f64>,
    actions: Vec<Action>,
    boot_obs: Vec<f32>,
    boot_mask: Vec<bool>,
}

impl Collector {
    /// A collector for `envs` environments with observations `obs_width` wide and `n_actions`
    /// discrete actions.
    pub(super) fn new(envs: usize, obs_width: usize, n_actions: usize) -> Collector {
        Collector {
            obs_width,
            n_actions,
            scores: vec![],
            actions: vec![Action::Discrete(0); envs],
            boot_obs: vec![0.0f32; obs_width],
            boot_mask: vec![true; n_actions],
        }
    }

    /// Plays one round in `env`, learning as it goes.
    pub(super) fn round(
        &mut self,
        env: &mut VecEnv,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
        learner: &mut Learner,
        data: &TrainData,
        config: &TrainConfig,
    ) -> Round {
        let t = &config.training;
        let b = &config.env.battery;
        let envs = t.envs;
        let round_start = state.progress.steps;
        let day_idx: Vec<usize> = (0..envs)
            .map(|_| data.train[state.rng.gen_range(0..data.train.len())])
            .collect();
        let socs: Vec<f64> = (0..envs)
            .map(|_| {
                if t.random_start_soc {
                    state.rng.gen_range(b.soc_min_mwh()..=b.soc_max_mwh())
                } else {
                    b.day_start_soc_mwh(None)
                }
            })
            .collect();
        env.reset(&day_idx, &socs);
        let mut nstep: Vec<NStep> = (0..envs)
            .map(|_| NStep::new(config.n_step(), t.gamma))
            .collect();
        let mut returns = vec![0.0f64; envs];
        let shadow_price = if b.cycles_per_day.is_some() {
            t.cycle_budget_shadow_price_eur_per_mwh
        } else {
            0.0
        };
        while !env.all_done() {
            let obs = env.observations().to_vec();
            let masks = env.masks().to_vec();
            let was_done = env.dones().to_vec();
            self.choose(agent, state, config, &obs, &masks);
            let shadow_prices =
                shadow_prices(env, shadow_price, t.cycle_budget_shadow_price_schedule);
            env.step_actions(&self.actions);
            let (w, a) = (self.obs_width, self.n_actions);
            for i in 0..envs {
                if was_done[i] {
                    continue;
                }
                let done = env.dones()[i];
                let next_day = done
                    && t.bootstrap_across_days
                    && next_day_start(
                        data,
                        config,
                        day_idx[i],
                        env.soc_mwh(i),
                        &mut self.boot_obs,
                        &mut self.boot_mask,
                    );
                let (next_o, next_m) = if next_day {
                    (&self.boot_obs[..], &self.boot_mask[..])
                } else {
                    (
                        &env.observations()[i * w..(i + 1) * w],
                        &env.masks()[i * a..(i + 1) * a],
                    )
                };
                let r = env.rewards()[i];
                returns[i] += r;
                let learnt = training_reward(r, &env.outcomes()[i], shadow_prices[i]);
                state.progress.steps += 1;
                let replay = &mut state.replay;
                nstep[i].push(
                    Step {
                        obs: &obs[i * w..(i + 1) * w],
                        mask: &masks[i * a..(i + 1) * a],
                        action: self.actions[i],
                        reward: (learnt * t.reward_scale as f64) as f32,
                        next_obs: next_o,
                        next_mask: next_m,
                        done,
                        bootstrap: next_day,
                    },
                    &mut |tr| replay.push(&tr),
                );
            }
            learner.learn(agent, state, config);
        }
        Round {
            returns,
            steps: state.progress.steps - round_start,
        }
    }

    /// This step's actions: the agent's own exploration, else epsilon-greedy on its scores.
    fn choose(
        &mut self,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
        config: &TrainConfig,
        obs: &[f32],
        masks: &[bool],
    ) {
        let envs = config.training.envs;
        let n = self.n_actions;
        let eps = config.epsilon(state.progress.steps);
        if agent.explore(obs, masks, envs, &mut state.rng, &mut self.actions) {
            return;
        }
        agent.scores(obs, envs, &mut self.scores);
        for i in 0..envs {
            let mask = &masks[i * n..(i + 1) * n];
            self.actions[i] = Action::Discrete(if state.rng.gen::<f64>() < eps {
                let allowed: Vec<usize> = (0..n).filter(|&a| mask[a]).collect();
                allowed[state.rng.gen_range(0..allowed.len())]
            } else {
                masked_argmax(&self.scores[i * n..(i + 1) * n], mask)
            });
        }
    }
}

/// The cycle budget's shadow price (EUR per MWh of cell throughput) of each env's current
/// decision: `price` as `schedule` runs it through the day.
pub fn shadow_prices(env: &VecEnv, price: f64, schedule: ShadowPriceSchedule) -> Vec<f64> {
    (0..env.n_envs())
        .map(|i| price * schedule.factor(env.step_index(i), env.n_steps(i)))
        .collect()
}

/// The reward an agent learns from: the settlement (EUR) minus the cycle budget's shadow price
/// on the cell energy the step moved.
pub fn training_reward(
    reward_eur: f64,
    outcome: &imbarb_sim::StepOutcome,
    shadow_price: f64,
) -> f64 {
    reward_eur - shadow_price * (outcome.cell_in_mwh + outcome.cell_out_mwh)
}

/// The first observation and mask of the calendar day after day `d`, reached with `soc_mwh`
/// (cycle budget fresh). False when that day is not in the data (a gap or the end).
pub fn next_day_start(
    data: &TrainData,
    config: &TrainConfig,
    d: usize,
    soc_mwh: f64,
    obs: &mut [f32],
    mask: &mut [bool],
) -> bool {
    let days = &data.days.days;
    let consecutive = days
        .get(d + 1)
        .is_some_and(|n| days[d].date.succ_opt() == Some(n.date));
    if !consecutive {
        return false;
    }
    let b = &config.env.battery;
    let fw = data.features.width;
    obs[..fw].copy_from_slice(data.features.row(d + 1, 0));
    // A day starts with no cycles used and its whole budget left.
    let budget = b.daily_throughput_budget_mwh();
    obs[fw..].copy_from_slice(&battery_observation(b, soc_mwh, 0.0, budget));
    imbarb_sim::action_mask(
        b,
        soc_mwh,
        budget,
        config.env.granularity.duration_h(),
        config.env.levels_at_limits,
        mask,
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ShadowPriceSchedule;

    #[test]
    fn a_fading_shadow_price_falls_with_the_share_of_the_day_left() {
        let fading = ShadowPriceSchedule::Fading;
        assert_eq!(fading.factor(0, 96), 1.0);
        assert_eq!(fading.factor(48, 96), 0.5);
        assert_eq!(fading.factor(95, 96), 1.0 / 96.0);
        // A 100-decision autumn day ends at 1/100.
        assert_eq!(fading.factor(99, 100), 0.01);
        assert_eq!(ShadowPriceSchedule::Flat.factor(95, 96), 1.0);
    }

    #[test]
    fn the_shadow_price_charges_cell_throughput_by_hand() {
        // Charging 0.25 MWh from the grid at 90 % puts 0.225 MWh into the cells.
        let o = imbarb_sim::StepOutcome {
            grid_energy_mwh: -0.25,
            cell_in_mwh: 0.225,
            ..Default::default()
        };
        assert!((training_reward(-10.0, &o, 60.0) - (-10.0 - 13.5)).abs() < 1e-12);
        assert_eq!(training_reward(-10.0, &o, 0.0), -10.0);
        // Idle costs nothing.
        assert_eq!(
            training_reward(0.0, &imbarb_sim::StepOutcome::default(), 60.0),
            0.0
        );
    }
}
