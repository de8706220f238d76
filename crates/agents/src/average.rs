//! The acting weights of `training.weight_average_steps`: an exponential moving average of an
//! agent's online weights, validated, checkpointed and deployed in place of the online weights
//! while learning goes on with the online ones.

use crate::value::ValueAgent;
use imbarb_nn::Checkpoint;

/// Where the average lives inside the trainer's `latest` checkpoint, so that a resumed run
/// continues the same average.
const NESTED: &str = "average";

/// An exponential moving average of an agent's deployable weights (what `save` stores without
/// training state), with a time constant in environment steps.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    horizon_steps: usize,
    weights: Option<Checkpoint>,
}

impl WeightAverage {
    /// An empty average over about `horizon_steps` environment steps (must be positive).
    pub fn new(horizon_steps: usize) -> WeightAverage {
        WeightAverage {
            horizon_steps: horizon_steps.max(1),
            weights: None,
        }
    }

    /// The weight of a sample that follows `steps` environment steps after the previous one:
    /// 1 - exp(-steps / horizon), so that the average forgets at the same rate per step whatever
    /// the round length.
    pub fn sample_weight(&self, steps: usize) -> f32 {
        (1.0 - (-(steps as f64) / self.horizon_steps as f64).exp()) as f32
    }

    /// Folds in the agent's current weights, `steps` environment steps after the last sample
    /// (the first sample starts the average).
    pub fn observe(&mut self, agent: &dyn ValueAgent, steps: usize) -> imbarb_nn::Result<()> {
        let mut now = Checkpoint::new();
        agent.save(&mut now, false)?;
        let weight = self.sample_weight(steps);
        match &mut self.weights {
            Some(avg) => avg.lerp_toward(&now, weight)?,
            None => self.weights = Some(now),
        }
        Ok(())
    }

    /// The averaged weights, loadable with `ValueAgent::load(_, false)`; None before the first
    /// sample.
    pub fn weights(&self) -> Option<&Checkpoint> {
        self.weights.as_ref()
    }

    /// Stores the average inside a training checkpoint.
    pub fn save(&self, ck: &mut Checkpoint) {
        if let Some(w) = &self.weights {
            ck.put_nested(NESTED, w);
        }
    }

    /// Restores what `save` stored (nothing stored: no sample yet).
    pub fn load(&mut self, ck: &Checkpoint) {
        let w = ck.nested(NESTED);
        self.weights = (!w.is_empty()).then_some(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Algo, TrainConfig};

    /// The sample weight compounds per step: two samples 10 steps apart forget as much as one
    /// 20 steps after; a sample a whole horizon later weighs 1 - 1/e.
    #[test]
    fn sample_weights_forget_per_step() {
        let a = WeightAverage::new(100);
        let keep = |s| 1.0 - a.sample_weight(s) as f64;
        assert!((keep(10) * keep(10) - keep(20)).abs() < 1e-6);
        assert!((a.sample_weight(100) as f64 - (1.0 - (-1.0f64).exp())).abs() < 1e-6);
    }

    /// The average of an agent's weights: the first sample is the agent, a second sample of other
    /// weights moves every parameter by the sample weight, and the average survives a checkpoint.
    #[test]
    fn the_average_moves_toward_each_sample() {
        let config = TrainConfig {
            algo: Algo::QrDqn,
            ..TrainConfig::default()
        };
        let first = crate::build_agent(&config, 5, (-1.0, 1.0)).expect("agent");
        let second = crate::build_agent(
            &TrainConfig {
                seed: config.seed + 1,
                ..config.clone()
            },
            5,
            (-1.0, 1.0),
        )
        .expect("agent");
        let tensors = |agent: &dyn ValueAgent| {
            let mut ck = Checkpoint::new();
            agent.save(&mut ck, false).expect("save");
            ck
        };
        let (a, b) = (tensors(first.as_ref()), tensors(second.as_ref()));
        let mut avg = WeightAverage::new(50);
        avg.observe(first.as_ref(), 7).expect("first");
        assert_eq!(avg.weights(), Some(&a));
        avg.observe(second.as_ref(), 25).expect("second");
        let w = avg.sample_weight(25);
        let got = avg.weights().expect("average");
        let name = "z.online.layers.0.weight";
        let (x, y, z) = (
            a.get(name).expect("a"),
            b.get(name).expect("b"),
            got.get(name).expect("avg"),
        );
        assert!(x != y);
        for ((x, y), z) in x.iter().zip(y).zip(z) {
            assert!((z - (x + w * (y - x))).abs() < 1e-6, "{z} vs {x} -> {y}");
        }
        let mut ck = Checkpoint::new();
        ck.put("replay.obs", vec![1], &[0.0]).expect("put");
        avg.save(&mut ck);
        let mut back = WeightAverage::new(50);
        back.load(&ck);
        assert_eq!(back.weights(), avg.weights());
        back.load(&Checkpoint::new());
        assert_eq!(back.weights(), None);
    }
}
