//! The residual agent (issue #26: "the agent adjusts the planner's action"): any discrete agent
//! whose action indices count from the planner's move at its state of charge, read from the plan
//! columns of its own observation (`[forecast_features.plan] residual = true`). Action 0 follows
//! the plan; action k acts the level k places above it, wrapping round. So one output means
//! "follow the planner" in every state, and the network learns where to depart from it.
//!
//! The wrapper speaks power levels to everything outside (the collector, validation, backtests,
//! `decide`, Python), so none of them change; only replayed batches are rewritten into the
//! agent's frame, before observation noise touches the columns the plan is read from.
//!
//! Its first candidate for deployment is the planner itself: the trainer validates it at step 0
//! acting as the plan alone (`follow_plan`), a flag its checkpoint keeps, so a run deploys a
//! network that beats its planner on the validation days, or the planner.

use crate::config::Algo;
use crate::replay::Batch;
use crate::value::ValueAgent;
use imbarb_nn::Checkpoint;
use imbarb_plan::plan_columns::Move;
use imbarb_plan::PlanColumns;
use imbarb_risk::Discrete;
use imbarb_sim::{Action, BatteryConfig, BATTERY_FEATURES};
use rand_chacha::ChaCha8Rng;

/// Where an observation holds the plan, and how a planned move maps to a power level.
#[derive(Debug, Clone)]
pub struct PlanFrame {
    plan: PlanColumns,
    battery: BatteryConfig,
    levels: usize,
    /// Index of the first plan column in an observation.
    columns: usize,
    /// Index of the state-of-charge feature (a fraction of capacity).
    soc: usize,
}

impl PlanFrame {
    /// The frame of observations `obs_width` wide whose plan columns (`plan`) are the last
    /// market features, just before the battery's, for `levels` power levels (odd: the middle
    /// one is waiting).
    pub fn new(
        plan: &PlanColumns,
        battery: &BatteryConfig,
        levels: usize,
        obs_width: usize,
    ) -> imbarb_nn::Result<PlanFrame> {
        let columns = obs_width
            .checked_sub(BATTERY_FEATURES + plan.width())
            .ok_or_else(|| {
                imbarb_nn::NnError::Shape(format!(
                    "forecast_features.plan.residual: observations {obs_width} wide cannot hold {} plan columns and the battery's",
                    plan.width()
                ))
            })?;
        if levels < 3 || levels.is_multiple_of(2) {
            return Err(imbarb_nn::NnError::Shape(format!(
                "forecast_features.plan.residual: {levels} levels; the plan's waiting needs a middle level (an odd number, at least 3)"
            )));
        }
        Ok(PlanFrame {
            plan: plan.clone(),
            battery: *battery,
            levels,
            columns,
            soc: obs_width - BATTERY_FEATURES,
        })
    }

    /// The power level the plan chooses for one observation row.
    pub fn planned_level(&self, obs: &[f32]) -> usize {
        let soc_mwh = obs[self.soc] as f64 * self.battery.energy_mwh;
        let cols = &obs[self.columns..self.columns + self.plan.width()];
        match self.plan.planned_move(cols, &self.battery, soc_mwh) {
            Move::Charge => 0,
            Move::Wait => self.levels / 2,
            Move::Discharge => self.levels - 1,
        }
    }

    /// The level the agent's action `k` acts when the plan chooses level `planned`.
    pub fn level(&self, planned: usize, k: usize) -> usize {
        (planned + k) % self.levels
    }

    /// The agent's action that acts `level` when the plan chooses level `planned`.
    pub fn action(&self, planned: usize, level: usize) -> usize {
        (level + self.levels - planned) % self.levels
    }

    /// Rewrites a mask over levels into one over the agent's actions (empty stays empty: all
    /// allowed).
    fn mask_to_actions(&self, planned: usize, levels: &[bool], out: &mut [bool]) {
        if levels.is_empty() {
            return;
        }
        for (k, slot) in out.iter_mut().enumerate() {
            *slot = levels[self.level(planned, k)];
        }
    }
}

/// The checkpoint tensor that marks a residual agent acting as its planner alone (1) or with
/// its network (0, or absent).
const FOLLOW_PLAN_TENSOR: &str = "residual.follow_plan";

/// A discrete agent acting in the plan's frame, seen from outside as acting on levels.
pub struct Residual {
    inner: Box<dyn ValueAgent>,
    frame: PlanFrame,
    /// Acting as the planner alone, the network unused.
    following: bool,
    scores: Vec<f64>,
    masks: Vec<bool>,
    planned: Vec<usize>,
}

impl Residual {
    /// Wraps `inner`, whose actions count from the plan's move in `frame`.
    pub fn new(inner: Box<dyn ValueAgent>, frame: PlanFrame) -> Residual {
        Residual {
            inner,
            frame,
            following: false,
            scores: vec![],
            masks: vec![],
            planned: vec![],
        }
    }

    /// The plan's level for each of `batch` observation rows, into `self.planned`.
    fn plan_rows(&mut self, obs: &[f32], batch: usize) {
        let width = obs.len() / batch.max(1);
        self.planned.clear();
        self.planned.extend(
            obs.chunks(width.max(1))
                .take(batch)
                .map(|row| self.frame.planned_level(row)),
        );
    }
}

impl ValueAgent for Residual {
    fn algo(&self) -> Algo {
        self.inner.algo()
    }

    fn n_actions(&self) -> usize {
        self.inner.n_actions()
    }

    fn scores(&mut self, obs: &[f32], batch: usize, out: &mut Vec<f64>) {
        let n = self.frame.levels;
        self.plan_rows(obs, batch);
        if self.following {
            // The planner alone: its level scores 1, every other 0.
            out.clear();
            for &p in &self.planned {
                out.extend((0..n).map(|level| f64::from(u8::from(level == p))));
            }
            return;
        }
        self.inner.scores(obs, batch, &mut self.scores);
        out.clear();
        for (r, &p) in self.planned.iter().enumerate() {
            let row = &self.scores[r * n..(r + 1) * n];
            out.extend((0..n).map(|level| row[self.frame.action(p, level)]));
        }
    }

    fn act(&mut self, obs: &[f32], masks: &[bool], batch: usize, out: &mut Vec<Action>) {
        if !self.following {
            // The masked argmax of the scores by level, as every agent.
            return crate::value::greedy_act(self, obs, masks, batch, out);
        }
        // The planner alone: its level, or the allowed one nearest to it when masked.
        let n = self.frame.levels;
        let space = imbarb_sim::ActionSpace::Discrete { levels: n };
        self.plan_rows(obs, batch);
        out.clear();
        for (r, &p) in self.planned.iter().enumerate() {
            let mask = masks.get(r * n..(r + 1) * n).unwrap_or(&[]);
            let fraction = imbarb_sim::ActionSpace::level_fraction(p, n);
            out.push(imbarb_sim::action_for_fraction(space, fraction, mask));
        }
    }

    fn follow_plan(&mut self, on: bool) -> bool {
        self.following = on;
        true
    }

    fn explore(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        batch: usize,
        rng: &mut ChaCha8Rng,
        out: &mut [Action],
    ) -> bool {
        let n = self.frame.levels;
        self.plan_rows(obs, batch);
        self.masks.clear();
        if !masks.is_empty() {
            self.masks.resize(batch * n, false);
            for (r, &p) in self.planned.iter().enumerate() {
                self.frame.mask_to_actions(
                    p,
                    &masks[r * n..(r + 1) * n],
                    &mut self.masks[r * n..(r + 1) * n],
                );
            }
        }
        if !self.inner.explore(obs, &self.masks, batch, rng, out) {
            return false;
        }
        for (a, &p) in out.iter_mut().zip(&self.planned) {
            if let Action::Discrete(k) = a {
                *k = self.frame.level(p, *k);
            }
        }
        true
    }

    fn diagnostics(&self) -> Vec<(&'static str, f64)> {
        self.inner.diagnostics()
    }

    fn distributions(&mut self, obs: &[f32]) -> Vec<Discrete> {
        let p = self.frame.planned_level(obs);
        if self.following {
            // Point masses at the scores: what acting on them chooses, no return forecast.
            return (0..self.frame.levels)
                .map(|level| Discrete::samples(&[f64::from(u8::from(level == p))]))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
        }
        let by_action = self.inner.distributions(obs);
        (0..self.frame.levels)
            .map(|level| by_action[self.frame.action(p, level)].clone())
            .collect()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.inner.set_learning_rate(lr);
    }

    fn frame_batch(&self, batch: &mut Batch) {
        let n = self.frame.levels;
        let width = batch.obs.len() / batch.size.max(1);
        let mut row_mask = vec![false; n];
        for r in 0..batch.size {
            let p = self
                .frame
                .planned_level(&batch.obs[r * width..(r + 1) * width]);
            batch.actions[r] = self.frame.action(p, batch.actions[r]);
            if !batch.masks.is_empty() {
                let m = &mut batch.masks[r * n..(r + 1) * n];
                self.frame.mask_to_actions(p, m, &mut row_mask);
                m.copy_from_slice(&row_mask);
            }
            if !batch.next_masks.is_empty() {
                let next = self
                    .frame
                    .planned_level(&batch.next_obs[r * width..(r + 1) * width]);
                let m = &mut batch.next_masks[r * n..(r + 1) * n];
                self.frame.mask_to_actions(next, m, &mut row_mask);
                m.copy_from_slice(&row_mask);
            }
        }
    }

    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> f32 {
        self.inner.update(batch, rng)
    }

    fn save(&self, ck: &mut Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.inner.save(ck, training_state)?;
        ck.put(
            FOLLOW_PLAN_TENSOR,
            vec![1],
            &[f32::from(u8::from(self.following))],
        )
    }

    fn load(&mut self, ck: &Checkpoint, training_state: bool) -> imbarb_nn::Result<()> {
        self.inner.load(ck, training_state)?;
        // Absent: a network that acts (checkpoints from before the flag).
        self.following = ck
            .get(FOLLOW_PLAN_TENSOR)
            .is_ok_and(|v| v.first().is_some_and(|&x| x > 0.5));
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An agent with fixed scores per action that records the batches it learns from.
    pub(crate) struct Fixed {
        pub(crate) scores: Vec<f64>,
        pub(crate) learned: Arc<Mutex<Vec<Batch>>>,
    }

    impl ValueAgent for Fixed {
        fn algo(&self) -> Algo {
            Algo::QrDqn
        }
        fn n_actions(&self) -> usize {
            self.scores.len()
        }
        fn scores(&mut self, _obs: &[f32], batch: usize, out: &mut Vec<f64>) {
            out.clear();
            for _ in 0..batch {
                out.extend_from_slice(&self.scores);
            }
        }
        fn distributions(&mut self, _obs: &[f32]) -> Vec<Discrete> {
            self.scores
                .iter()
                .map(|&s| Discrete::samples(&[s]).expect("one value"))
                .collect()
        }
        fn set_learning_rate(&mut self, _lr: f32) {}
        fn update(&mut self, batch: &Batch, _rng: &mut ChaCha8Rng) -> f32 {
            self.learned.lock().expect("lock").push(batch.clone());
            0.0
        }
        fn save(&self, _ck: &mut Checkpoint, _t: bool) -> imbarb_nn::Result<()> {
            Ok(())
        }
        fn load(&mut self, _ck: &Checkpoint, _t: bool) -> imbarb_nn::Result<()> {
            Ok(())
        }
    }

    pub(crate) fn plan() -> PlanColumns {
        PlanColumns {
            horizon: 4,
            soc_points: 2,
            residual: true,
            ..PlanColumns::default()
        }
    }

    /// An observation: the plan's columns at the lowest and highest state of charge, then the
    /// battery's (state of charge as a fraction of capacity, cycles used, budget left).
    pub(crate) fn obs(columns: [f32; 4], soc_fraction: f32) -> Vec<f32> {
        let mut o = columns.to_vec();
        o.extend([soc_fraction, 0.0, 1.0]);
        o
    }

    pub(crate) const CHARGE: [f32; 4] = [1.0, -1.0, 1.0, -1.0];
    pub(crate) const WAIT: [f32; 4] = [-1.0, -1.0, -1.0, -1.0];
    const DISCHARGE: [f32; 4] = [-1.0, 1.0, -1.0, 1.0];

    fn residual(levels: usize) -> (Residual, Arc<Mutex<Vec<Batch>>>) {
        let learned = Arc::new(Mutex::new(vec![]));
        let inner = Fixed {
            scores: (0..levels).map(|k| [5.0, 1.0, 2.0, 0.0, 3.0][k]).collect(),
            learned: learned.clone(),
        };
        let frame = PlanFrame::new(&plan(), &BatteryConfig::default(), levels, 7).expect("frame");
        (Residual::new(Box::new(inner), frame), learned)
    }

    #[test]
    fn the_plans_level_is_read_from_the_observation() {
        let (r, _) = residual(5);
        assert_eq!(r.frame.columns, 0);
        assert_eq!(r.frame.planned_level(&obs(CHARGE, 0.5)), 0);
        assert_eq!(r.frame.planned_level(&obs(WAIT, 0.5)), 2);
        assert_eq!(r.frame.planned_level(&obs(DISCHARGE, 0.5)), 4);
        // Charge pays when empty, discharge when full: the state of charge decides.
        let both = [1.0, -1.0, -1.0, 1.0];
        assert_eq!(r.frame.planned_level(&obs(both, 0.1)), 0);
        assert_eq!(r.frame.planned_level(&obs(both, 0.9)), 4);
    }

    #[test]
    fn level_and_action_are_inverse_and_action_zero_follows_the_plan() {
        let (r, _) = residual(5);
        for p in 0..5 {
            assert_eq!(r.frame.level(p, 0), p);
            for k in 0..5 {
                assert_eq!(r.frame.action(p, r.frame.level(p, k)), k);
            }
        }
    }

    #[test]
    fn scores_and_distributions_come_out_by_level() {
        // The inner agent scores its actions [5, 1, 2]: following the plan is best.
        let (mut r, _) = residual(3);
        let mut rows = obs(WAIT, 0.5);
        rows.extend(obs(CHARGE, 0.5));
        rows.extend(obs(DISCHARGE, 0.5));
        let mut s = vec![];
        r.scores(&rows, 3, &mut s);
        // Waiting planned (level 1): level 1 is action 0, level 2 action 1, level 0 action 2.
        assert_eq!(&s[0..3], &[2.0, 5.0, 1.0]);
        assert_eq!(&s[3..6], &[5.0, 1.0, 2.0]);
        assert_eq!(&s[6..9], &[1.0, 2.0, 5.0]);
        let mut acts = vec![];
        r.act(&rows, &[], 3, &mut acts);
        assert_eq!(
            acts,
            vec![
                Action::Discrete(1),
                Action::Discrete(0),
                Action::Discrete(2)
            ]
        );
        let means: Vec<f64> = r
            .distributions(&obs(DISCHARGE, 0.5))
            .iter()
            .map(Discrete::mean)
            .collect();
        assert_eq!(means, vec![1.0, 2.0, 5.0]);
        // A masked plan: the best allowed level by the agent's own scores.
        r.act(&obs(CHARGE, 0.5), &[false, true, true], 1, &mut acts);
        assert_eq!(acts, vec![Action::Discrete(2)]);
    }

    #[test]
    fn a_replayed_batch_is_rewritten_into_the_plans_frame() {
        let (r, _) = residual(3);
        let mut batch = Batch {
            size: 2,
            obs: [obs(CHARGE, 0.5), obs(WAIT, 0.5)].concat(),
            masks: vec![true, true, false, false, true, true],
            actions: vec![0, 0],
            fractions: vec![0.0; 2],
            rewards: vec![0.0; 2],
            discounts: vec![1.0; 2],
            next_obs: [obs(DISCHARGE, 0.5), obs(CHARGE, 0.5)].concat(),
            next_masks: vec![false, true, true, true, true, false],
        };
        r.frame_batch(&mut batch);
        // Row 0: charge planned, level 0 acted: action 0; row 1: waiting planned, level 0 is 2.
        assert_eq!(batch.actions, vec![0, 2]);
        // mask[k] = level mask at (planned + k) mod 3.
        assert_eq!(&batch.masks[0..3], &[true, true, false]);
        assert_eq!(&batch.masks[3..6], &[true, true, false]);
        // Next rows: discharge planned (2), then charge planned (0).
        assert_eq!(&batch.next_masks[0..3], &[true, false, true]);
        assert_eq!(&batch.next_masks[3..6], &[true, true, false]);
    }

    #[test]
    fn following_the_plan_acts_its_level_and_the_flag_survives_a_checkpoint() {
        // An inner agent that prefers action 1 (one level above the plan) to following it.
        let (mut r, _) = residual(3);
        r.inner = Box::new(Fixed {
            scores: vec![0.0, 9.0, 1.0],
            learned: Arc::new(Mutex::new(vec![])),
        });
        let mut acts = vec![];
        r.act(&obs(WAIT, 0.5), &[], 1, &mut acts);
        assert_eq!(
            acts,
            vec![Action::Discrete(2)],
            "the network departs from the plan"
        );
        assert!(r.follow_plan(true));
        r.act(&obs(WAIT, 0.5), &[], 1, &mut acts);
        assert_eq!(acts, vec![Action::Discrete(1)], "the plan waits");
        // Masked: the allowed level nearest to the plan's.
        r.act(&obs(CHARGE, 0.5), &[false, true, true], 1, &mut acts);
        assert_eq!(acts, vec![Action::Discrete(1)]);
        let mut s = vec![];
        r.scores(&obs(DISCHARGE, 0.5), 1, &mut s);
        assert_eq!(s, vec![0.0, 0.0, 1.0]);
        let means: Vec<f64> = r
            .distributions(&obs(CHARGE, 0.5))
            .iter()
            .map(Discrete::mean)
            .collect();
        assert_eq!(means, vec![1.0, 0.0, 0.0]);
        let mut ck = Checkpoint::new();
        r.save(&mut ck, false).expect("save");
        let (mut loaded, _) = residual(3);
        loaded.load(&ck, false).expect("load");
        loaded.act(&obs(WAIT, 0.5), &[], 1, &mut acts);
        assert_eq!(
            acts,
            vec![Action::Discrete(1)],
            "the loaded agent follows the plan"
        );
        // A checkpoint without the flag acts with its network.
        loaded.load(&Checkpoint::new(), false).expect("load");
        loaded.act(&obs(WAIT, 0.5), &[], 1, &mut acts);
        assert_eq!(
            acts,
            vec![Action::Discrete(1)],
            "Fixed scores [5, 1, 2]: action 0, the plan"
        );
        assert!(!loaded.following);
    }

    #[test]
    fn frames_that_cannot_hold_the_plan_are_refused() {
        let b = BatteryConfig::default();
        let e = PlanFrame::new(&plan(), &b, 4, 7).unwrap_err().to_string();
        assert!(e.contains("4 levels"), "{e}");
        let e = PlanFrame::new(&plan(), &b, 3, 5).unwrap_err().to_string();
        assert!(e.contains("observations 5 wide"), "{e}");
    }
}
