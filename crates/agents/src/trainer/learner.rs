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
            if t.observation_noise > 0.0 {
                for row in self.batch.obs.chunks_mut(self.obs_width) {
                    for x in &mut row[..self.market_width] {
                        let z: f32 = state.rng.sample(rand_distr::StandardNormal);
                        *x += t.observation_noise * z;
                    }
                }
            }
            self.loss_sum += agent.update(&self.batch, &mut state.rng) as f64;
            self.loss_n += 1;
            state.progress.updates += 1;
        }
    }

    /// The mean loss of the round's updates (`None` without updates), and a fresh start.
    pub(super) fn take_round_loss(&mut self) -> Option<f64> {
        let mean = (self.loss_n > 0).then(|| self.loss_sum / self.loss_n as f64);
        self.loss_sum = 0.0;
        self.loss_n = 0;
        mean
    }
}
