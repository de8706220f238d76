//! Gradient updates: once replay holds enough transitions, `updates_per_step` minibatches after
//! every lockstep step, with optional Gaussian noise on the market part of the observations.

use super::state::TrainState;
use crate::config::TrainConfig;
use crate::replay::Batch;
use crate::value::ValueAgent;
use rand::Rng;

/// The learner's scratch batch and the round's running loss.
pub(super) struct Learner {
    batch: Batch,
    loss_sum: f64,
    loss_n: usize,
    /// The step of the first update whose loss was not a finite number.
    diverged_at: Option<usize>,
    /// Observation width.
    obs_width: usize,
    /// The market feature columns (the ones observation noise touches).
    market_width: usize,
}

impl Learner {
    /// A learner for observations `obs_width` wide whose first `market_width` columns are market
    /// features.
    pub(super) fn new(obs_width: usize, market_width: usize) -> Learner {
        Learner {
            batch: Batch::default(),
            loss_sum: 0.0,
            loss_n: 0,
            diverged_at: None,
            obs_width,
            market_width,
        }
    }

    /// Applies this step's updates to `agent` from `state`'s replay.
    pub(super) fn learn(
        &mut self,
        agent: &mut dyn ValueAgent,
        state: &mut TrainState,
        config: &TrainConfig,
    ) {
        let t = &config.training;
        if state.replay.len() < t.learning_starts.max(t.batch_size) {
            return;
        }
        agent.set_learning_rate(config.learning_rate(state.progress.steps));
        for _ in 0..t.updates_per_step {
            state
                .replay
                .sample(t.batch_size, &mut state.rng, &mut self.batch);
            agent.frame_batch(&mut self.batch);
            if t.observation_noise > 0.0 {
                for row in self.batch.obs.chunks_mut(self.obs_width) {
                    for x in &mut row[..self.market_width] {
                        let z: f32 = state.rng.sample(rand_distr::StandardNormal);
                        *x += t.observation_noise * z;
                    }
                }
            }
            let loss = agent.update(&self.batch, &mut state.rng);
            if !loss.is_finite() && self.diverged_at.is_none() {
                self.diverged_at = Some(state.progress.steps);
            }
            self.loss_sum += loss as f64;
            self.loss_n += 1;
            state.progress.updates += 1;
        }
    }

    /// The step at which a loss first stopped being finite (training must stop there).
    pub(super) fn diverged_at(&self) -> Option<usize> {
        self.diverged_at
    }

    /// The mean loss of the round's updates (`None` without updates), and a fresh start.
    pub(super) fn take_round_loss(&mut self) -> Option<f64> {
        let mean = (self.loss_n > 0).then(|| self.loss_sum / self.loss_n as f64);
        self.loss_sum = 0.0;
        self.loss_n = 0;
        mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::build_agent;
    use crate::config::Algo;
    use crate::replay::Transition;
    use imbarb_nn::Checkpoint;
    use imbarb_sim::Action;

    /// A network whose weights overflow gives a non-finite loss, and the learner records the
    /// step at which it first did (the trainer stops there); a sane network never does.
    #[test]
    fn a_non_finite_loss_is_recorded_with_its_step() {
        let mut config = TrainConfig {
            algo: Algo::Dqn,
            ..TrainConfig::default()
        };
        config.network.hidden = vec![8];
        let t = &mut config.training;
        (t.batch_size, t.learning_starts, t.replay_capacity) = (4, 4, 16);
        let width = 3;
        for blow_up in [false, true] {
            let mut agent = build_agent(&config, width, (-1.0, 1.0)).expect("agent");
            if blow_up {
                let mut ck = Checkpoint::new();
                agent.save(&mut ck, false).expect("save");
                let names: Vec<String> = ck.tensor_names().map(String::from).collect();
                for n in names {
                    let shape = ck.shape(&n).expect("shape").to_vec();
                    let huge = vec![1e30_f32; ck.get(&n).expect("tensor").len()];
                    ck.put(&n, shape, &huge).expect("put");
                }
                agent.load(&ck, false).expect("load");
            }
            let mut state = TrainState::fresh(&config, width, 3);
            for i in 0..8 {
                state.replay.push(&Transition {
                    obs: vec![1.0, -0.5, i as f32],
                    mask: vec![true; 3],
                    action: Action::Discrete(i % 3),
                    reward: 1.0,
                    discount: 0.99,
                    next_obs: vec![0.5, 0.5, 1.0],
                    next_mask: vec![true; 3],
                });
            }
            state.progress.steps = 123;
            let mut learner = Learner::new(width, 1);
            learner.learn(agent.as_mut(), &mut state, &config);
            let expected = blow_up.then_some(123);
            assert_eq!(learner.diverged_at(), expected, "blow up: {blow_up}");
        }
    }

    /// A residual agent learns in the plan's frame read from the clean observation: the batch
    /// is rewritten before observation noise blurs the plan's columns.
    #[test]
    fn a_residual_agent_learns_in_the_frame_of_the_clean_plan() {
        use crate::residual::tests::{obs, plan, Fixed, CHARGE, WAIT};
        use crate::residual::{PlanFrame, Residual};
        use std::sync::{Arc, Mutex};
        let mut config = TrainConfig::default();
        let t = &mut config.training;
        (t.batch_size, t.learning_starts, t.replay_capacity) = (64, 64, 128);
        t.observation_noise = 5.0;
        let width = 7;
        let learned = Arc::new(Mutex::new(vec![]));
        let inner = Fixed {
            scores: vec![0.0; 3],
            learned: learned.clone(),
        };
        let frame = PlanFrame::new(&plan(), &config.env.battery, 3, width).expect("frame");
        let mut agent = Residual::new(Box::new(inner), frame);
        let mut state = TrainState::fresh(&config, width, 3);
        // Level 0 (charge) acted: action 0 where the plan charges, action 2 where it waits.
        let clean = [obs(CHARGE, 0.5), obs(WAIT, 0.5)];
        for i in 0..128 {
            state.replay.push(&Transition {
                obs: clean[i % 2].clone(),
                mask: vec![true; 3],
                action: Action::Discrete(0),
                reward: 0.0,
                discount: 0.99,
                next_obs: clean[i % 2].clone(),
                next_mask: vec![true, false, false],
            });
        }
        let mut learner = Learner::new(width, 4);
        learner.learn(&mut agent, &mut state, &config);
        let batches = learned.lock().expect("lock");
        let batch = &batches[0];
        let mut noisy = 0;
        for r in 0..batch.size {
            let row = &batch.obs[r * width..(r + 1) * width];
            // The soc and battery columns are untouched; the plan's are noisy.
            assert_eq!(&row[4..], &clean[0][4..]);
            noisy += usize::from(row[..4] != clean[0][..4] && row[..4] != clean[1][..4]);
        }
        assert_eq!(noisy, batch.size, "every row's plan columns carry noise");
        // Which clean row each came from is not kept; but every action is 0 or 2 and matches
        // the next mask's frame: the level-0-only next mask reads [true, false, false] where
        // the plan charges and [false, true, false] where it waits.
        for r in 0..batch.size {
            let next = &batch.next_masks[r * 3..(r + 1) * 3];
            match batch.actions[r] {
                0 => assert_eq!(next, &[true, false, false]),
                2 => assert_eq!(next, &[false, false, true]),
                a => panic!("row {r}: action {a}"),
            }
        }
    }
}
