//! A batch of independent simulator environments for Python: each is one Brussels day per
//! episode (a `VecEnv` of one), all stepped by one call that writes into NumPy arrays Python
//! owns, so a vector of environments steps without a Python loop per environment and without
//! allocating per step. `imbarb.ImbalanceEnv` and `imbarb.ImbalanceVecEnv` wrap it.
//!
//! A day ends with `truncated` when the next calendar day is in the data: the battery goes on,
//! and the observation returned is that day's first one with the SoC carried over and a fresh
//! cycle budget (the bootstrap imbarb's own trainer uses). It ends with `terminated` where the
//! data stops or has a gap (the observation is then zeros).

use crate::errors::err;
use crate::spec::{resolve, Resolved};
use imbarb_agents::trainer::next_day_start;
use imbarb_agents::TrainConfig;
use imbarb_experiment::Setup;
use imbarb_sim::{ActionSpace, VecEnv, BATTERY_FEATURE_NAMES};
use numpy::{PyReadonlyArray1, PyReadwriteArray1, PyReadwriteArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The per-step numbers `step` writes into its `info` array, in column order.
pub const INFO_FIELDS: [&str; 6] = [
    "soc_mwh",
    "cycles",
    "energy_mwh",
    "power_mw",
    "clipped_mw",
    "day",
];

/// The most environments one batch holds (each keeps its own episode buffers).
const MAX_ENVS: usize = 65_536;

/// One `VecEnv` (of one day) per environment, borrowing the days and features they share.
type EnvList<'a> = Vec<VecEnv<'a>>;

self_cell::self_cell!(
    /// The setup and the environments that borrow from it, kept together so Python can hold
    /// both in one object (a self-referential struct; `self_cell` makes it safe).
    struct EnvCell {
        owner: Setup,
        #[covariant]
        dependent: EnvList,
    }
);

/// How a finished environment starts its next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Autoreset {
    /// Only on `reset` (stepping a finished environment is an error).
    Disabled,
    /// On the next `step` (its action is ignored): Gymnasium's default for vector envs.
    NextStep,
    /// In the same `step`; the final observation goes to `final_obs` (Stable-Baselines3's way).
    SameStep,
}

impl Autoreset {
    fn parse(s: &str) -> PyResult<Autoreset> {
        match s {
            "disabled" => Ok(Autoreset::Disabled),
            "next_step" => Ok(Autoreset::NextStep),
            "same_step" => Ok(Autoreset::SameStep),
            other => Err(err(format!(
                "autoreset `{other}`: expected next_step, same_step or disabled"
            ))),
        }
    }
}

/// A batch of simulator environments (see the module doc).
#[pyclass(module = "imbarb._imbarb")]
pub struct Envs {
    cell: EnvCell,
    /// The resolved config (its env is the setup's), for the next-day bootstrap.
    config: TrainConfig,
    /// Indices into the setup's days of the day set episodes are drawn from.
    pool: Vec<usize>,
    rngs: Vec<ChaCha8Rng>,
    /// Position in `pool` of the day each environment is on, if reset.
    day: Vec<Option<usize>>,
    /// Finished its day (awaiting a reset).
    finished: Vec<bool>,
    random_start_soc: bool,
    autoreset: Autoreset,
    width: usize,
    n_actions: usize,
    /// Scratch for one environment's next-day mask.
    mask_scratch: Vec<bool>,
    /// Scratch for the step's power fractions (a step allocates nothing).
    fractions: Vec<f64>,
}

#[pymethods]
impl Envs {
    /// `num_envs` environments over the day set of `spec` (JSON, see `spec.rs`); `seed` seeds
    /// each environment's day and SoC draws (see `seed`); `random_start_soc`
    /// starts random days at a uniform SoC instead of the battery's first-day SoC.
    #[new]
    #[pyo3(signature = (spec, num_envs, seed, random_start_soc=false, autoreset="next_step"))]
    fn new(
        spec: &str,
        num_envs: usize,
        seed: u64,
        random_start_soc: bool,
        autoreset: &str,
    ) -> PyResult<Envs> {
        if !(1..=MAX_ENVS).contains(&num_envs) {
            return Err(err(format!("num_envs {num_envs}: expected 1..={MAX_ENVS}")));
        }
        let autoreset = Autoreset::parse(autoreset)?;
        let Resolved { setup, config } = resolve(spec)?;
        let pool = setup.eval.clone();
        let env_config = setup.config.clone();
        let width = setup.features.width + BATTERY_FEATURE_NAMES.len();
        let n_actions = env_config.actions.n();
        let cell = EnvCell::try_new(setup, |s| {
            (0..num_envs)
                .map(|_| VecEnv::new(&s.days, &s.features, env_config.clone()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| err(e.to_string()))?;
        let mut envs = Envs {
            cell,
            config,
            pool,
            rngs: vec![],
            day: vec![None; num_envs],
            finished: vec![false; num_envs],
            random_start_soc,
            autoreset,
            width,
            n_actions,
            mask_scratch: vec![true; n_actions],
            fractions: Vec::with_capacity(num_envs),
        };
        envs.seed(seed);
        Ok(envs)
    }

    /// Re-seeds every environment's draws: environment i with `seed + i`, as Gymnasium's
    /// vector environments seed their sub-environments (so a batch equals single environments
    /// seeded one by one).
    fn seed(&mut self, seed: u64) {
        let n = self.day.len();
        self.rngs = (0..n)
            .map(|i| ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64)))
            .collect();
    }

    /// Re-seeds environment `i`'s draws only.
    fn seed_one(&mut self, i: usize, seed: u64) -> PyResult<()> {
        self.check_index(i)?;
        self.rngs[i] = ChaCha8Rng::seed_from_u64(seed);
        Ok(())
    }

    /// Number of environments.
    #[getter]
    fn num_envs(&self) -> usize {
        self.day.len()
    }

    /// Observation width (market features then battery features).
    #[getter]
    fn observation_width(&self) -> usize {
        self.width
    }

    /// Discrete actions (0 for continuous power).
    #[getter]
    fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// The observation's column names.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        let s = self.cell.borrow_owner();
        let mut names = s.features.names.clone();
        names.extend(BATTERY_FEATURE_NAMES.iter().map(|n| n.to_string()));
        names
    }

    /// The dates (ISO) of the day set episodes are drawn from, in order.
    #[getter]
    fn days(&self) -> Vec<String> {
        let s = self.cell.borrow_owner();
        self.pool
            .iter()
            .map(|&d| s.days.days[d].date.to_string())
            .collect()
    }

    /// The cell-energy bounds (min, max), MWh.
    #[getter]
    fn soc_bounds(&self) -> (f64, f64) {
        let b = &self.cell.borrow_owner().config.battery;
        (b.soc_min_mwh(), b.soc_max_mwh())
    }

    /// Environment `i`'s cell energy now, MWh.
    fn soc_mwh(&self, i: usize) -> PyResult<f64> {
        self.check_index(i)?;
        Ok(self.cell.with_dependent(|_, envs| {
            if self.day[i].is_some() {
                envs[i].soc_mwh(0)
            } else {
                f64::NAN
            }
        }))
    }

    /// A paragraph on what is simulated.
    fn describe(&self) -> String {
        self.cell.borrow_owner().describe()
    }

    /// Starts environment `i` on day `day` (a position in `days`; None: drawn at random) at
    /// `soc_mwh` (None: the battery's first-day SoC, or a uniform draw with
    /// `random_start_soc`); writes its observation and mask into row `i` of `obs` and `mask`.
    /// Returns the day's position.
    #[pyo3(signature = (i, obs, mask, day=None, soc_mwh=None))]
    fn reset(
        &mut self,
        i: usize,
        mut obs: PyReadwriteArray2<f32>,
        mut mask: PyReadwriteArray2<bool>,
        day: Option<usize>,
        soc_mwh: Option<f64>,
    ) -> PyResult<usize> {
        self.check_index(i)?;
        self.check_out(obs.shape(), mask.shape())?;
        if let Some(d) = day {
            if d >= self.pool.len() {
                return Err(err(format!(
                    "day {d}: the day set has {} days (0..{})",
                    self.pool.len(),
                    self.pool.len()
                )));
            }
        }
        if let Some(s) = soc_mwh {
            let (lo, hi) = self.soc_bounds();
            if !(lo..=hi).contains(&s) {
                return Err(err(format!(
                    "soc_mwh {s}: expected a cell energy within the battery's bounds [{lo}, {hi}] MWh"
                )));
            }
        }
        let position = self.start_day(i, day, soc_mwh);
        let obs = obs.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let mask = mask.as_slice_mut().map_err(|e| err(e.to_string()))?;
        self.write_row(i, obs, mask);
        Ok(position)
    }

    /// Steps every environment with its action (`actions[i]`: a level index for discrete
    /// actions, a power fraction in [-1, 1] (> 0 discharge) for continuous ones) and writes
    /// each one's observation, reward (EUR), terminated, truncated, mask and info row
    /// (`INFO_FIELDS`); finished environments restart by the autoreset rule, and with
    /// `same_step` their final observation goes to `final_obs` and the levels allowed from it
    /// (the next day's start, what a learner bootstraps from) to `final_mask` (other rows
    /// untouched).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (actions, obs, reward, terminated, truncated, mask, info, final_obs=None, final_mask=None))]
    fn step(
        &mut self,
        actions: PyReadonlyArray1<f64>,
        mut obs: PyReadwriteArray2<f32>,
        mut reward: PyReadwriteArray1<f64>,
        mut terminated: PyReadwriteArray1<bool>,
        mut truncated: PyReadwriteArray1<bool>,
        mut mask: PyReadwriteArray2<bool>,
        mut info: PyReadwriteArray2<f64>,
        final_obs: Option<PyReadwriteArray2<f32>>,
        final_mask: Option<PyReadwriteArray2<bool>>,
    ) -> PyResult<()> {
        let n = self.day.len();
        self.check_out(obs.shape(), mask.shape())?;
        let actions = actions.as_slice().map_err(|e| err(e.to_string()))?;
        if actions.len() != n {
            return Err(err(format!(
                "actions: {} given for {n} environments",
                actions.len()
            )));
        }
        for (name, len) in [
            ("reward", reward.len()),
            ("terminated", terminated.len()),
            ("truncated", truncated.len()),
        ] {
            if len != n {
                return Err(err(format!("{name}: length {len}, expected {n}")));
            }
        }
        if info.shape() != [n, INFO_FIELDS.len()] {
            return Err(err(format!(
                "info: shape {:?}, expected [{n}, {}]",
                info.shape(),
                INFO_FIELDS.len()
            )));
        }
        self.set_fractions(actions)?;
        let fractions = std::mem::take(&mut self.fractions);
        let (mut final_obs, mut final_mask) = (final_obs, final_mask);
        if self.autoreset == Autoreset::SameStep {
            for (name, shape, need) in [
                (
                    "final_obs",
                    final_obs.as_ref().map(|f| f.shape().to_vec()),
                    self.width,
                ),
                (
                    "final_mask",
                    final_mask.as_ref().map(|f| f.shape().to_vec()),
                    self.n_actions,
                ),
            ] {
                if shape.as_deref() != Some(&[n, need][..]) {
                    return Err(err(format!(
                        "{name}: an array of shape [{n}, {need}] is needed with same_step autoreset"
                    )));
                }
            }
        }
        let obs = obs.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let mask = mask.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let reward = reward.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let terminated = terminated.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let truncated = truncated.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let info = info.as_slice_mut().map_err(|e| err(e.to_string()))?;
        let mut final_rows = match final_obs.as_mut() {
            Some(f) => Some(f.as_slice_mut().map_err(|e| err(e.to_string()))?),
            None => None,
        };
        let mut final_masks = match final_mask.as_mut() {
            Some(f) => Some(f.as_slice_mut().map_err(|e| err(e.to_string()))?),
            None => None,
        };
        let w = self.width;
        let k = INFO_FIELDS.len();
        for i in 0..n {
            let info_row = &mut info[i * k..(i + 1) * k];
            if self.finished[i] || self.day[i].is_none() {
                if self.autoreset != Autoreset::NextStep || self.day[i].is_none() {
                    return Err(err(format!(
                        "environment {i} {}: call reset first",
                        if self.day[i].is_none() {
                            "was never reset"
                        } else {
                            "finished its day"
                        }
                    )));
                }
                self.start_day(i, None, None);
                self.write_row(i, obs, mask);
                reward[i] = 0.0;
                terminated[i] = false;
                truncated[i] = false;
                self.write_info(i, info_row, None);
                continue;
            }
            let done = self.cell.with_dependent_mut(|_, envs| {
                envs[i].step_fractions(&fractions[i..i + 1]);
                reward[i] = envs[i].rewards()[0];
                envs[i].all_done()
            });
            let outcome = self.cell.with_dependent(|_, envs| envs[i].outcomes()[0]);
            self.write_info(i, info_row, Some(outcome));
            if !done {
                terminated[i] = false;
                truncated[i] = false;
                self.write_row(i, obs, mask);
                continue;
            }
            // The day is over: its final observation is the next day's start, when there is one.
            let row = &mut obs[i * w..(i + 1) * w];
            let continues = self.next_day_observation(i, row);
            terminated[i] = !continues;
            truncated[i] = continues;
            self.finished[i] = true;
            let a = self.n_actions;
            if self.autoreset == Autoreset::SameStep {
                if let Some(f) = final_rows.as_mut() {
                    f[i * w..(i + 1) * w].copy_from_slice(&obs[i * w..(i + 1) * w]);
                }
                if let Some(f) = final_masks.as_mut() {
                    f[i * a..(i + 1) * a].copy_from_slice(&self.mask_scratch);
                }
                self.start_day(i, None, None);
                self.write_row(i, obs, mask);
            } else {
                mask[i * a..(i + 1) * a].copy_from_slice(&self.mask_scratch);
            }
        }
        // The buffer goes back for the next step.
        self.fractions = fractions;
        Ok(())
    }
}

impl Envs {
    fn check_index(&self, i: usize) -> PyResult<()> {
        if i >= self.day.len() {
            return Err(err(format!(
                "environment {i}: there are {} (0..{})",
                self.day.len(),
                self.day.len()
            )));
        }
        Ok(())
    }

    fn check_out(&self, obs: &[usize], mask: &[usize]) -> PyResult<()> {
        let n = self.day.len();
        if obs != [n, self.width] {
            return Err(err(format!(
                "obs: shape {obs:?}, expected [{n}, {}]",
                self.width
            )));
        }
        if mask != [n, self.n_actions] {
            return Err(err(format!(
                "mask: shape {mask:?}, expected [{n}, {}]",
                self.n_actions
            )));
        }
        Ok(())
    }

    /// Sets `fractions` to the power fraction of each action, checked: a level must be a whole
    /// number in range, a fraction finite and within [-1, 1].
    fn set_fractions(&mut self, actions: &[f64]) -> PyResult<()> {
        let space = self.cell.borrow_owner().config.actions;
        self.fractions.clear();
        for (i, &a) in actions.iter().enumerate() {
            let f = match space {
                ActionSpace::Discrete { levels } => {
                    if a.fract() != 0.0 || !(0.0..levels as f64).contains(&a) {
                        return Err(err(format!(
                            "action {a} for environment {i}: expected a level 0..{}",
                            levels - 1
                        )));
                    }
                    ActionSpace::level_fraction(a as usize, levels)
                }
                ActionSpace::Continuous => {
                    if !(-1.0..=1.0).contains(&a) {
                        return Err(err(format!(
                            "action {a} for environment {i}: expected a power fraction in [-1, 1]"
                        )));
                    }
                    a
                }
            };
            self.fractions.push(f);
        }
        Ok(())
    }

    /// Starts environment `i` on a day (drawn when `day` is None) at a SoC (drawn or the
    /// first-day SoC when None); returns the day's position in the pool.
    fn start_day(&mut self, i: usize, day: Option<usize>, soc_mwh: Option<f64>) -> usize {
        let rng = &mut self.rngs[i];
        let position = day.unwrap_or_else(|| rng.gen_range(0..self.pool.len()));
        let b = self.cell.borrow_owner().config.battery;
        let soc = soc_mwh.unwrap_or_else(|| {
            if self.random_start_soc {
                rng.gen_range(b.soc_min_mwh()..=b.soc_max_mwh())
            } else {
                b.day_start_soc_mwh(None)
            }
        });
        let d = self.pool[position];
        self.cell
            .with_dependent_mut(|_, envs| envs[i].reset(&[d], &[soc]));
        self.day[i] = Some(position);
        self.finished[i] = false;
        position
    }

    /// Copies environment `i`'s observation and mask into row `i`.
    fn write_row(&self, i: usize, obs: &mut [f32], mask: &mut [bool]) {
        let (w, a) = (self.width, self.n_actions);
        self.cell.with_dependent(|_, envs| {
            obs[i * w..(i + 1) * w].copy_from_slice(&envs[i].observations()[..w]);
            mask[i * a..(i + 1) * a].copy_from_slice(&envs[i].masks()[..a]);
        });
    }

    /// Writes the next calendar day's first observation (SoC carried, fresh budget) into `row`
    /// and its mask into the scratch; false (zeros, all allowed) when the data has no next day.
    fn next_day_observation(&mut self, i: usize, row: &mut [f32]) -> bool {
        let Some(d) = self.day[i].map(|p| self.pool[p]) else {
            return false;
        };
        let soc = self.cell.with_dependent(|_, envs| envs[i].soc_mwh(0));
        let setup = self.cell.borrow_owner();
        let continues = next_day_start(
            &setup.train_data(),
            &self.config,
            d,
            soc,
            row,
            &mut self.mask_scratch,
        );
        if !continues {
            row.fill(0.0);
            self.mask_scratch.fill(true);
        }
        continues
    }

    /// Environment `i`'s info row (`INFO_FIELDS`), with the last step's outcome when it moved.
    fn write_info(&self, i: usize, row: &mut [f64], outcome: Option<imbarb_sim::StepOutcome>) {
        let o = outcome.unwrap_or_default();
        let position = self.day[i].map_or(-1.0, |p| p as f64);
        self.cell.with_dependent(|_, envs| {
            row.copy_from_slice(&[
                envs[i].soc_mwh(0),
                envs[i].cycles_used(0),
                o.grid_energy_mwh,
                o.power_mw,
                o.clipped_mw,
                position,
            ]);
        });
    }
}
