//! Perfect-foresight optimum for the discrete action set, by exact dynamic programming.
//!
//! Discrete levels change the cell energy by fixed amounts, so every reachable state of charge is
//! a multiple of one energy unit (1/360 MWh for the paper battery: charging adds 81 units,
//! discharging removes 100). The programme runs on that lattice and is exact; when no unit below
//! 1e-5 MWh fits, it rounds to that grid and says so (`exact = false`). With a daily cycle
//! budget the state also holds today's cell throughput in the same units.

use crate::error::BaselineError;
use crate::lp::{Horizon, Schedule};
use imbarb_market::QhPrice;
use imbarb_sim::{ActionSpace, BatteryConfig, MarketDays};
use std::collections::HashMap;

/// The DP result: the optimal schedule and whether the lattice was exact.
#[derive(Debug, Clone, PartialEq)]
pub struct DpSchedule {
    /// Profits, cycles, powers and end states per day.
    pub schedule: Schedule,
    /// Chosen discrete level per quarter-hour of each day.
    pub actions: Vec<Vec<usize>>,
    /// True when the energy lattice represented every transition exactly.
    pub exact: bool,
}

/// The energy lattice: unit size and per-level cell-energy change in units.
struct Lattice {
    units_per_mwh: f64,
    exact: bool,
    /// Cell energy change per level (units, + charge / - discharge).
    delta: Vec<i64>,
    /// Cell throughput per level (units).
    cell: Vec<i64>,
    /// Grid energy per level (MWh, > 0 injected).
    grid: Vec<f64>,
    soc_min: i64,
    soc_max: i64,
    budget: Option<i64>,
}

fn near_integer(x: f64) -> bool {
    (x - x.round()).abs() <= 1e-7 * x.abs().max(1.0)
}

impl Lattice {
    fn new(b: &BatteryConfig, levels: usize, duration_h: f64) -> Lattice {
        let mut cell_mwh = vec![];
        let mut grid = vec![];
        for i in 0..levels {
            let p = imbarb_sim::env::fraction_to_mw(b, ActionSpace::level_fraction(i, levels));
            let e = p * duration_h;
            grid.push(e);
            let (into, out) = b.cell_energy(e);
            cell_mwh.push(into + out);
        }
        let budget = b.cycles_per_day.map(|_| b.daily_throughput_budget_mwh());
        let mut quantities: Vec<f64> = cell_mwh.clone();
        quantities.extend([b.soc_min_mwh(), b.soc_max_mwh(), b.first_soc_mwh()]);
        quantities.extend(budget);
        let found = (1..=100_000u32)
            .map(f64::from)
            .find(|d| quantities.iter().all(|q| near_integer(q * d)));
        let (units_per_mwh, exact) = match found {
            Some(d) => (d, true),
            None => (1e5, false),
        };
        let to_units = |x: f64| (x * units_per_mwh).round() as i64;
        Lattice {
            units_per_mwh,
            exact,
            delta: grid
                .iter()
                .zip(&cell_mwh)
                .map(|(g, c)| {
                    if *g >= 0.0 {
                        -to_units(*c)
                    } else {
                        to_units(*c)
                    }
                })
                .collect(),
            cell: cell_mwh.iter().map(|c| to_units(*c)).collect(),
            grid,
            soc_min: to_units(b.soc_min_mwh()),
            soc_max: to_units(b.soc_max_mwh()),
            budget: budget.map(to_units),
        }
    }

    fn reward(&self, level: usize, price: &QhPrice, b: &BatteryConfig) -> f64 {
        imbarb_sim::settle(price, self.grid[level])
            - b.degradation_eur_per_mwh * self.cell[level] as f64 / self.units_per_mwh
    }
}

/// Solves the discrete-action optimum over `day_indices` with `levels` power levels.
/// `Horizon::Chained` carries SoC across days (supported without a cycle cap);
/// `Horizon::PerDay` starts each day at the battery's first-day SoC.
pub fn dp_oracle(
    days: &MarketDays,
    day_indices: &[usize],
    b: &BatteryConfig,
    levels: usize,
    horizon: Horizon,
) -> Result<DpSchedule, BaselineError> {
    b.check()?;
    if !(2..=imbarb_sim::MAX_LEVELS).contains(&levels) {
        return Err(BaselineError::Levels(levels));
    }
    let lat = Lattice::new(b, levels, 0.25);
    let start = (b.first_soc_mwh() * lat.units_per_mwh).round() as i64;
    let blocks: Vec<&[QhPrice]> = day_indices
        .iter()
        .map(|&d| &days.days[d].prices[..])
        .collect();
    let mut actions = Vec::with_capacity(blocks.len());
    match (horizon, lat.budget) {
        (Horizon::Chained, None) => {
            for run in days.consecutive_runs(day_indices) {
                let run_blocks: Vec<&[QhPrice]> =
                    run.iter().map(|&d| &days.days[d].prices[..]).collect();
                actions.extend(dense(&lat, &run_blocks, start, b));
            }
        }
        (Horizon::PerDay, None) => {
            for block in &blocks {
                actions.extend(dense(&lat, std::slice::from_ref(block), start, b));
            }
        }
        (Horizon::PerDay, Some(budget)) => {
            for block in &blocks {
                actions.push(sparse_day(&lat, block, start, budget, b));
            }
        }
        (Horizon::Chained, Some(_)) => return Err(BaselineError::ChainedCap),
    }
    // Replay the actions to report profits, cycles and powers.
    let mut schedule = Schedule {
        day_profit_eur: vec![],
        day_cycles: vec![],
        power_mw: vec![],
        end_soc_mwh: vec![],
    };
    let mut soc = start;
    let mut previous: Option<chrono::NaiveDate> = None;
    for ((block, acts), &d) in blocks.iter().zip(&actions).zip(day_indices) {
        let date = days.days[d].date;
        let continues = previous.and_then(|p| p.succ_opt()) == Some(date);
        if horizon == Horizon::PerDay || !continues {
            soc = start;
        }
        previous = Some(date);
        let (mut profit, mut thr) = (0.0, 0i64);
        for (price, &a) in block.iter().zip(acts) {
            profit += lat.reward(a, price, b);
            thr += lat.cell[a];
            soc += lat.delta[a];
        }
        schedule.day_profit_eur.push(profit);
        schedule
            .day_cycles
            .push(b.cycles_of(thr as f64 / lat.units_per_mwh));
        schedule
            .power_mw
            .push(acts.iter().map(|&a| lat.grid[a] / 0.25).collect());
        schedule.end_soc_mwh.push(soc as f64 / lat.units_per_mwh);
    }
    Ok(DpSchedule {
        schedule,
        actions,
        exact: lat.exact,
    })
}

/// Dense DP over the SoC lattice without a cycle budget, across consecutive blocks.
fn dense(lat: &Lattice, blocks: &[&[QhPrice]], start: i64, b: &BatteryConfig) -> Vec<Vec<usize>> {
    let n_states = (lat.soc_max - lat.soc_min + 1) as usize;
    let steps: usize = blocks.iter().map(|x| x.len()).sum();
    let mut value = vec![f64::NEG_INFINITY; n_states];
    value[(start - lat.soc_min) as usize] = 0.0;
    let mut next = vec![f64::NEG_INFINITY; n_states];
    let mut choice = vec![u8::MAX; steps * n_states];
    let prices: Vec<&QhPrice> = blocks.iter().flat_map(|x| x.iter()).collect();
    for (t, price) in prices.iter().enumerate() {
        next.fill(f64::NEG_INFINITY);
        let rewards: Vec<f64> = (0..lat.delta.len())
            .map(|a| lat.reward(a, price, b))
            .collect();
        for (s, &v) in value.iter().enumerate() {
            if v == f64::NEG_INFINITY {
                continue;
            }
            for (a, d) in lat.delta.iter().enumerate() {
                let s2 = s as i64 + d;
                if s2 < 0 || s2 >= n_states as i64 {
                    continue;
                }
                let cand = v + rewards[a];
                let s2 = s2 as usize;
                if cand > next[s2] {
                    next[s2] = cand;
                    choice[t * n_states + s2] = a as u8;
                }
            }
        }
        std::mem::swap(&mut value, &mut next);
    }
    let mut s = (0..n_states)
        .max_by(|&x, &y| value[x].total_cmp(&value[y]))
        .unwrap_or(0);
    let mut flat = vec![0usize; steps];
    for t in (0..steps).rev() {
        let a = choice[t * n_states + s] as usize;
        flat[t] = a;
        s = (s as i64 - lat.delta[a]) as usize;
    }
    let mut out = Vec::with_capacity(blocks.len());
    let mut i = 0;
    for block in blocks {
        out.push(flat[i..i + block.len()].to_vec());
        i += block.len();
    }
    out
}

/// A state of the sparse DP: (SoC units, throughput units, value, parent index, action).
type LayerEntry = (i64, i64, f64, usize, usize);

/// Sparse DP over (SoC, today's throughput) for one day with a cycle budget.
fn sparse_day(
    lat: &Lattice,
    prices: &[QhPrice],
    start: i64,
    budget: i64,
    b: &BatteryConfig,
) -> Vec<usize> {
    let mut layers: Vec<Vec<LayerEntry>> = vec![vec![(start, 0, 0.0, 0, 0)]];
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    for price in prices {
        let rewards: Vec<f64> = (0..lat.delta.len())
            .map(|a| lat.reward(a, price, b))
            .collect();
        let prev = layers.last().map_or(&[][..], |l| &l[..]);
        let mut layer: Vec<LayerEntry> = Vec::with_capacity(prev.len() * 2);
        index.clear();
        for (p, &(soc, thr, v, _, _)) in prev.iter().enumerate() {
            for (a, d) in lat.delta.iter().enumerate() {
                let s2 = soc + d;
                let t2 = thr + lat.cell[a];
                if s2 < lat.soc_min || s2 > lat.soc_max || t2 > budget {
                    continue;
                }
                let cand = v + rewards[a];
                match index.get(&(s2, t2)) {
                    Some(&k) if layer[k].2 >= cand => {}
                    Some(&k) => layer[k] = (s2, t2, cand, p, a),
                    None => {
                        index.insert((s2, t2), layer.len());
                        layer.push((s2, t2, cand, p, a));
                    }
                }
            }
        }
        layers.push(layer);
    }
    let last = layers.last().map_or(&[][..], |l| &l[..]);
    let mut k = (0..last.len())
        .max_by(|&x, &y| last[x].2.total_cmp(&last[y].2))
        .unwrap_or(0);
    let mut acts = vec![0; prices.len()];
    for t in (0..prices.len()).rev() {
        let e = layers[t + 1][k];
        acts[t] = e.4;
        k = e.3;
    }
    acts
}
