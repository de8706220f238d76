//! Experience replay shared by every agent: n-step transitions assembled per environment, stored
//! in a fixed-capacity ring of struct-of-arrays buffers, sampled uniformly into a `Batch`.

use imbarb_nn::Checkpoint;
use imbarb_sim::Action;
use rand::Rng;

/// One n-step transition: from `obs` taking `action`, the discounted reward sum `reward` over up
/// to n steps, then `next_obs` (with its action mask) reached after `discount` = gamma^k, or
/// `discount = 0` when the episode ended inside the n steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Observation at the decision.
    pub obs: Vec<f32>,
    /// Allowed actions at `obs` (the actor-critics' policy is over these).
    pub mask: Vec<bool>,
    /// Action taken: a level index, or a power fraction for continuous agents.
    pub action: Action,
    /// Discounted (and scaled) reward sum.
    pub reward: f32,
    /// Discount applied to the bootstrap value: gamma^k, 0 at the episode's end.
    pub discount: f32,
    /// Observation k steps later.
    pub next_obs: Vec<f32>,
    /// Allowed actions at `next_obs`.
    pub next_mask: Vec<bool>,
}

/// A sampled minibatch, row-major.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Rows.
    pub size: usize,
    /// `size x obs_width`.
    pub obs: Vec<f32>,
    /// `size x n_actions`: allowed actions at `obs` (empty: all allowed).
    pub masks: Vec<bool>,
    /// `size`: discrete action indices (0 for continuous actions).
    pub actions: Vec<usize>,
    /// `size`: continuous actions, power fractions in [-1, 1] (0 for discrete actions).
    pub fractions: Vec<f32>,
    /// `size`.
    pub rewards: Vec<f32>,
    /// `size`.
    pub discounts: Vec<f32>,
    /// `size x obs_width`.
    pub next_obs: Vec<f32>,
    /// `size x n_actions`.
    pub next_masks: Vec<bool>,
}

/// Fixed-capacity ring buffer of transitions; the oldest are overwritten first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBuffer {
    capacity: usize,
    obs_width: usize,
    n_actions: usize,
    len: usize,
    next: usize,
    obs: Vec<f32>,
    masks: Vec<bool>,
    actions: Vec<u32>,
    fractions: Vec<f32>,
    rewards: Vec<f32>,
    discounts: Vec<f32>,
    next_obs: Vec<f32>,
    next_masks: Vec<bool>,
}

/// A stored action as the buffer's two columns: index and fraction.
fn columns(action: Action) -> (u32, f32) {
    match action {
        Action::Discrete(i) => (i as u32, 0.0),
        Action::Continuous(f) => (0, f as f32),
    }
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions.
    pub fn new(capacity: usize, obs_width: usize, n_actions: usize) -> ReplayBuffer {
        ReplayBuffer {
            capacity: capacity.max(1),
            obs_width,
            n_actions,
            len: 0,
            next: 0,
            obs: Vec::new(),
            masks: Vec::new(),
            actions: Vec::new(),
            fractions: Vec::new(),
            rewards: Vec::new(),
            discounts: Vec::new(),
            next_obs: Vec::new(),
            next_masks: Vec::new(),
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a transition, overwriting the oldest when full.
    pub fn push(&mut self, t: &Transition) {
        assert_eq!(t.obs.len(), self.obs_width, "replay: observation width");
        assert_eq!(t.next_mask.len(), self.n_actions, "replay: mask width");
        assert_eq!(t.mask.len(), self.n_actions, "replay: mask width");
        let (w, a) = (self.obs_width, self.n_actions);
        let (index, fraction) = columns(t.action);
        if self.len < self.capacity && self.next == self.len {
            // Growing: append (memory follows use, not capacity).
            self.obs.extend_from_slice(&t.obs);
            self.masks.extend_from_slice(&t.mask);
            self.next_obs.extend_from_slice(&t.next_obs);
            self.next_masks.extend_from_slice(&t.next_mask);
            self.actions.push(index);
            self.fractions.push(fraction);
            self.rewards.push(t.reward);
            self.discounts.push(t.discount);
            self.len += 1;
        } else {
            let i = self.next;
            self.obs[i * w..(i + 1) * w].copy_from_slice(&t.obs);
            self.masks[i * a..(i + 1) * a].copy_from_slice(&t.mask);
            self.next_obs[i * w..(i + 1) * w].copy_from_slice(&t.next_obs);
            self.next_masks[i * a..(i + 1) * a].copy_from_slice(&t.next_mask);
            self.actions[i] = index;
            self.fractions[i] = fraction;
            self.rewards[i] = t.reward;
            self.discounts[i] = t.discount;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// Fills `batch` with `size` transitions drawn uniformly with replacement.
    pub fn sample(&self, size: usize, rng: &mut impl Rng, batch: &mut Batch) {
        assert!(!self.is_empty(), "replay: sampling an empty buffer");
        let (w, a) = (self.obs_width, self.n_actions);
        batch.size = size;
        batch.obs.clear();
        batch.masks.clear();
        batch.next_obs.clear();
        batch.next_masks.clear();
        batch.actions.clear();
        batch.fractions.clear();
        batch.rewards.clear();
        batch.discounts.clear();
        for _ in 0..size {
            let i = rng.gen_range(0..self.len);
            batch.obs.extend_from_slice(&self.obs[i * w..(i + 1) * w]);
            batch
                .masks
                .extend_from_slice(&self.masks[i * a..(i + 1) * a]);
            batch
                .next_obs
                .extend_from_slice(&self.next_obs[i * w..(i + 1) * w]);
            batch
                .next_masks
                .extend_from_slice(&self.next_masks[i * a..(i + 1) * a]);
            batch.actions.push(self.actions[i] as usize);
            batch.fractions.push(self.fractions[i]);
            batch.rewards.push(self.rewards[i]);
            batch.discounts.push(self.discounts[i]);
        }
    }

    /// Stores the buffer in a checkpoint under `prefix` (for exact resume).
    pub fn save(&self, ck: &mut Checkpoint, prefix: &str) -> imbarb_nn::Result<()> {
        let (n, w, a) = (self.len, self.obs_width, self.n_actions);
        ck.put(&format!("{prefix}.obs"), vec![n, w], &self.obs)?;
        ck.put(&format!("{prefix}.next_obs"), vec![n, w], &self.next_obs)?;
        let as_f32 = |m: &[bool]| m.iter().map(|&m| m as u8 as f32).collect::<Vec<f32>>();
        ck.put(&format!("{prefix}.masks"), vec![n, a], &as_f32(&self.masks))?;
        ck.put(
            &format!("{prefix}.next_masks"),
            vec![n, a],
            &as_f32(&self.next_masks),
        )?;
        // Action indices are small integers, exact in f32.
        let actions: Vec<f32> = self.actions.iter().map(|&x| x as f32).collect();
        ck.put(&format!("{prefix}.actions"), vec![n], &actions)?;
        ck.put(&format!("{prefix}.fractions"), vec![n], &self.fractions)?;
        ck.put(&format!("{prefix}.rewards"), vec![n], &self.rewards)?;
        ck.put(&format!("{prefix}.discounts"), vec![n], &self.discounts)?;
        ck.set_meta(&format!("{prefix}.next"), self.next.to_string());
        ck.set_meta(&format!("{prefix}.capacity"), self.capacity.to_string());
        Ok(())
    }

    /// Restores a buffer saved by `save`.
    pub fn load(ck: &Checkpoint, prefix: &str) -> Result<ReplayBuffer, String> {
        let e = |x: imbarb_nn::NnError| x.to_string();
        let meta = |k: &str| -> Result<usize, String> {
            ck.meta(&format!("{prefix}.{k}"))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("checkpoint: missing or bad `{prefix}.{k}`"))
        };
        let shape = ck
            .shape(&format!("{prefix}.obs"))
            .ok_or_else(|| format!("checkpoint: no `{prefix}.obs`"))?
            .to_vec();
        let a_shape = ck
            .shape(&format!("{prefix}.next_masks"))
            .ok_or_else(|| format!("checkpoint: no `{prefix}.next_masks`"))?
            .to_vec();
        let (Some(&len), Some(&w), Some(&a)) = (shape.first(), shape.get(1), a_shape.get(1)) else {
            return Err(format!("checkpoint: `{prefix}` tensors are not matrices"));
        };
        let capacity = meta("capacity")?;
        let bools = |name: &str| -> Result<Vec<bool>, String> {
            Ok(ck
                .get(&format!("{prefix}.{name}"))
                .map_err(e)?
                .iter()
                .map(|&x| x != 0.0)
                .collect())
        };
        Ok(ReplayBuffer {
            capacity,
            obs_width: w,
            n_actions: a,
            len,
            next: meta("next")?,
            obs: ck.get(&format!("{prefix}.obs")).map_err(e)?.to_vec(),
            next_obs: ck.get(&format!("{prefix}.next_obs")).map_err(e)?.to_vec(),
            masks: bools("masks")?,
            next_masks: bools("next_masks")?,
            actions: ck
                .get(&format!("{prefix}.actions"))
                .map_err(e)?
                .iter()
                .map(|&x| x as u32)
                .collect(),
            fractions: ck.get(&format!("{prefix}.fractions")).map_err(e)?.to_vec(),
            rewards: ck.get(&format!("{prefix}.rewards")).map_err(e)?.to_vec(),
            discounts: ck.get(&format!("{prefix}.discounts")).map_err(e)?.to_vec(),
        })
    }
}

/// One environment step as the n-step accumulator sees it.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Observation at the decision.
    pub obs: &'a [f32],
    /// Allowed actions at `obs`.
    pub mask: &'a [bool],
    /// Action taken.
    pub action: Action,
    /// Reward (scaled).
    pub reward: f32,
    /// Observation after the step.
    pub next_obs: &'a [f32],
    /// Allowed actions after the step.
    pub next_mask: &'a [bool],
    /// The episode ended with this step.
    pub done: bool,
    /// When `done`: the return continues past the episode (the day ended but the battery lives
    /// on into the next day, whose first observation is `next_obs`), so pending transitions
    /// bootstrap from it instead of ending with value 0.
    pub bootstrap: bool,
}

/// Assembles n-step transitions for one environment from its stream of steps.
#[derive(Debug, Clone)]
pub struct NStep {
    n: usize,
    gamma: f32,
    /// Pending steps: observation, mask, action, reward.
    pending: std::collections::VecDeque<(Vec<f32>, Vec<bool>, Action, f32)>,
}

impl NStep {
    /// An accumulator for `n`-step returns with discount `gamma`.
    pub fn new(n: usize, gamma: f32) -> NStep {
        NStep {
            n: n.max(1),
            gamma,
            pending: Default::default(),
        }
    }

    /// Records one step and emits every transition that became complete.
    pub fn push(&mut self, step: Step, out: &mut impl FnMut(Transition)) {
        self.pending.push_back((
            step.obs.to_vec(),
            step.mask.to_vec(),
            step.action,
            step.reward,
        ));
        if step.done {
            while !self.pending.is_empty() {
                out(self.emit(step.next_obs, step.next_mask, !step.bootstrap));
            }
        } else if self.pending.len() == self.n {
            out(self.emit(step.next_obs, step.next_mask, false));
        }
    }

    /// The oldest pending step's transition: its discounted reward sum over all pending steps,
    /// bootstrapping from `next_obs` unless the episode ended.
    fn emit(&mut self, next_obs: &[f32], next_mask: &[bool], terminal: bool) -> Transition {
        let mut reward = 0.0f32;
        let mut g = 1.0f32;
        for (_, _, _, r) in &self.pending {
            reward += g * r;
            g *= self.gamma;
        }
        let (obs, mask, action, _) = self.pending.pop_front().expect("pending step");
        Transition {
            obs,
            mask,
            action,
            reward,
            discount: if terminal { 0.0 } else { g },
            next_obs: next_obs.to_vec(),
            next_mask: next_mask.to_vec(),
        }
    }

    /// True when no step is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn n_step_returns_by_hand() {
        // Rewards 1, 2, 4, 8 with gamma 0.5, n = 2, episode ends after the 4th step.
        let mut ns = NStep::new(2, 0.5);
        let mut got = vec![];
        let mask = [true, false];
        for (t, r) in [1.0f32, 2.0, 4.0, 8.0].iter().enumerate() {
            let done = t == 3;
            ns.push(
                Step {
                    obs: &[t as f32],
                    mask: &[true, t % 2 == 0],
                    action: Action::Discrete(t),
                    reward: *r,
                    next_obs: &[t as f32 + 1.0],
                    next_mask: &mask,
                    done,
                    bootstrap: false,
                },
                &mut |x| got.push(x),
            );
        }
        assert!(ns.is_empty());
        let summary: Vec<(f32, f32, f32, f32)> = got
            .iter()
            .map(|t| (t.obs[0], t.reward, t.discount, t.next_obs[0]))
            .collect();
        // Each transition keeps the mask of its own decision.
        for t in &got {
            assert_eq!(t.mask, vec![true, (t.obs[0] as usize).is_multiple_of(2)]);
        }
        assert_eq!(
            summary,
            vec![
                (0.0, 1.0 + 0.5 * 2.0, 0.25, 2.0),
                (1.0, 2.0 + 0.5 * 4.0, 0.25, 3.0),
                (2.0, 4.0 + 0.5 * 8.0, 0.0, 4.0),
                (3.0, 8.0, 0.0, 4.0),
            ]
        );
    }

    #[test]
    fn a_truncated_episode_bootstraps_with_gamma_to_the_power_of_the_steps_left() {
        let mut ns = NStep::new(3, 0.5);
        let mut got = vec![];
        for t in 0..2 {
            ns.push(
                Step {
                    obs: &[t as f32],
                    mask: &[true],
                    action: Action::Continuous(0.25 * t as f64),
                    reward: 1.0,
                    next_obs: &[9.0],
                    next_mask: &[true],
                    done: t == 1,
                    bootstrap: true,
                },
                &mut |x| got.push(x),
            );
        }
        let summary: Vec<(f32, f32, f32, Action)> = got
            .iter()
            .map(|t| (t.reward, t.discount, t.next_obs[0], t.action))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1.5, 0.25, 9.0, Action::Continuous(0.0)),
                (1.0, 0.5, 9.0, Action::Continuous(0.25))
            ]
        );
    }

    #[test]
    fn ring_overwrites_oldest_and_round_trips() {
        let mut rb = ReplayBuffer::new(3, 1, 2);
        for i in 0..5 {
            rb.push(&Transition {
                obs: vec![i as f32],
                mask: vec![i % 3 != 0, true],
                action: if i == 3 {
                    Action::Continuous(-0.5)
                } else {
                    Action::Discrete(i % 2)
                },
                reward: i as f32,
                discount: 0.9,
                next_obs: vec![i as f32 + 0.5],
                next_mask: vec![true, i % 2 == 0],
            });
        }
        assert_eq!(rb.len(), 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut b = Batch::default();
        rb.sample(200, &mut rng, &mut b);
        let mut seen: Vec<i32> = b.obs.iter().map(|x| *x as i32).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, vec![2, 3, 4], "only the newest three survive");
        for r in 0..b.size {
            assert_eq!(b.rewards[r], b.obs[r]);
            assert_eq!(b.next_obs[r], b.obs[r] + 0.5);
            assert_eq!(b.masks[2 * r], b.obs[r] as i32 % 3 != 0);
            let i = b.obs[r] as usize;
            let want = if i == 3 { (0, -0.5) } else { (i % 2, 0.0) };
            assert_eq!((b.actions[r], b.fractions[r]), want);
        }
        let mut ck = Checkpoint::new();
        rb.save(&mut ck, "replay").unwrap();
        let back = ReplayBuffer::load(&ck, "replay").unwrap();
        assert_eq!(back, rb);
    }
}
