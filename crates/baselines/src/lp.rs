//! Perfect-foresight optimum for continuous power as a linear programme (good_lp + clarabel).
//!
//! Per quarter-hour t: grid charge c_t >= 0 and discharge d_t >= 0 (MWh), cell energy s_t.
//! s_t = s_{t-1} + eta_c c_t - d_t / eta_d, soc_min <= s_t <= soc_max, c_t <= P_c / 4,
//! d_t <= P_d / 4, and per day sum(eta_c c_t + d_t / eta_d) <= 2 E cycles_per_day.
//! Maximise sum(long_t d_t - short_t c_t - degradation (eta_c c_t + d_t / eta_d)).
//! Dual prices are exact as long as short >= long (then charging and discharging in one
//! quarter-hour never pays); single prices always are.

// The LP solver: HiGHS with the `highs` feature (about twice as fast on full periods), else the
// pure-Rust clarabel, so a plain Rust toolchain builds everything.
use crate::error::BaselineError;
#[cfg(not(feature = "highs"))]
pub use good_lp::clarabel as solver;
#[cfg(feature = "highs")]
pub use good_lp::highs as solver;
use good_lp::{variable, Expression, ProblemVariables, Solution, SolverModel, Variable};
use imbarb_sim::{BatteryConfig, MarketDays};

/// The optimal schedule over a set of days.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    /// Profit per day, EUR.
    pub day_profit_eur: Vec<f64>,
    /// Cycles per day.
    pub day_cycles: Vec<f64>,
    /// Grid power per quarter-hour of each day, MW (> 0 discharge).
    pub power_mw: Vec<Vec<f64>>,
    /// Cell energy at the end of each day, MWh.
    pub end_soc_mwh: Vec<f64>,
}

impl Schedule {
    /// Appends the days of `other`.
    pub fn append(&mut self, other: Schedule) {
        self.day_profit_eur.extend(other.day_profit_eur);
        self.day_cycles.extend(other.day_cycles);
        self.power_mw.extend(other.power_mw);
        self.end_soc_mwh.extend(other.end_soc_mwh);
    }

    /// Total profit, EUR.
    pub fn total_eur(&self) -> f64 {
        self.day_profit_eur.iter().sum()
    }
}

/// How days relate in an optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    /// SoC carried from each day to the next consecutive calendar day (restarting at the first-day
    /// SoC after a gap in the list).
    Chained,
    /// Each day alone, starting from the battery's first-day SoC.
    PerDay,
}

/// Solves the LP for the days `day_indices` (chronological) of `days`.
pub fn lp_oracle(
    days: &MarketDays,
    day_indices: &[usize],
    battery: &BatteryConfig,
    horizon: Horizon,
) -> Result<Schedule, BaselineError> {
    battery.check()?;
    match horizon {
        Horizon::Chained => {
            let mut out = Schedule::default();
            for run in days.consecutive_runs(day_indices) {
                out.append(solve(days, &run, battery, battery.first_soc_mwh())?);
            }
            Ok(out)
        }
        Horizon::PerDay => {
            let mut out = Schedule::default();
            for &d in day_indices {
                out.append(solve(days, &[d], battery, battery.first_soc_mwh())?);
            }
            Ok(out)
        }
    }
}

/// Solves one LP over `day_indices` in order, starting at `start_soc_mwh`; a building block for
/// the oracle and the MPC.
pub fn solve(
    days: &MarketDays,
    day_indices: &[usize],
    b: &BatteryConfig,
    start_soc_mwh: f64,
) -> Result<Schedule, BaselineError> {
    let prices: Vec<Vec<(f64, f64)>> = day_indices
        .iter()
        .map(|&d| {
            days.days[d]
                .prices
                .iter()
                .map(|p| (p.long_eur_per_mwh(), p.short_eur_per_mwh()))
                .collect()
        })
        .collect();
    let budgets = vec![b.daily_throughput_budget_mwh(); prices.len()];
    solve_prices(&prices, &budgets, b, start_soc_mwh, 0.25, 0.0)
}

/// The LP on raw (long, short) prices grouped in blocks, each block with its own cell-throughput
/// budget (infinite for none), with steps of `duration_h`, valuing the cell energy left at the end
/// at `terminal_eur_per_mwh` (0 for the oracle; a forecast MPC uses it to avoid emptying the
/// battery at its horizon).
pub fn solve_prices(
    blocks: &[Vec<(f64, f64)>],
    budgets_mwh: &[f64],
    b: &BatteryConfig,
    start_soc_mwh: f64,
    duration_h: f64,
    terminal_eur_per_mwh: f64,
) -> Result<Schedule, BaselineError> {
    if blocks.len() != budgets_mwh.len() {
        return Err(BaselineError::BudgetsPerBlock {
            blocks: blocks.len(),
            budgets: budgets_mwh.len(),
        });
    }
    type Block<'a> = &'a Vec<(f64, f64)>;
    let (blocks, budgets_mwh): (Vec<Block>, Vec<f64>) = blocks
        .iter()
        .zip(budgets_mwh)
        .filter(|(x, _)| !x.is_empty())
        .map(|(x, b)| (x, *b))
        .unzip();
    if blocks.is_empty() {
        return Ok(Schedule::default());
    }
    // Cell energy per MWh charged (eta_c) and per MWh discharged (1 / eta_d).
    let (cell_in, cell_out) = b.cell_per_grid_mwh();
    let mut vars = ProblemVariables::new();
    let mut c: Vec<Vec<Variable>> = vec![];
    let mut d: Vec<Vec<Variable>> = vec![];
    let mut s: Vec<Vec<Variable>> = vec![];
    for block in &blocks {
        let n = block.len();
        c.push(vars.add_vector(variable().min(0.0).max(b.charge_power_mw * duration_h), n));
        d.push(vars.add_vector(
            variable().min(0.0).max(b.discharge_power_mw * duration_h),
            n,
        ));
        s.push(vars.add_vector(variable().min(b.soc_min_mwh()).max(b.soc_max_mwh()), n));
    }
    let mut objective = Expression::with_capacity(blocks.iter().map(|x| 2 * x.len()).sum());
    for (k, block) in blocks.iter().enumerate() {
        for (t, (long, short)) in block.iter().enumerate() {
            let deg = b.degradation_eur_per_mwh;
            objective.add_mul(long - deg * cell_out, d[k][t]);
            objective.add_mul(-short - deg * cell_in, c[k][t]);
        }
    }
    if terminal_eur_per_mwh != 0.0 {
        if let Some(last) = s.last().and_then(|v| v.last()) {
            objective.add_mul(terminal_eur_per_mwh, *last);
        }
    }
    let mut model = vars.maximise(objective).using(solver);
    let mut prev: Option<Variable> = None;
    for (k, block) in blocks.iter().enumerate() {
        let mut throughput = Expression::with_capacity(2 * block.len());
        for t in 0..block.len() {
            let previous: Expression = match prev {
                Some(v) => v.into(),
                None => start_soc_mwh.into(),
            };
            model =
                model.with((s[k][t] - previous - cell_in * c[k][t] + cell_out * d[k][t]).eq(0.0));
            prev = Some(s[k][t]);
            throughput.add_mul(cell_in, c[k][t]);
            throughput.add_mul(cell_out, d[k][t]);
        }
        if budgets_mwh[k].is_finite() {
            model = model.with(throughput.leq(budgets_mwh[k]));
        }
    }
    let solution = model
        .solve()
        .map_err(|e| BaselineError::Solver(e.to_string()))?;
    let mut out = Schedule {
        day_profit_eur: vec![],
        day_cycles: vec![],
        power_mw: vec![],
        end_soc_mwh: vec![],
    };
    for (k, block) in blocks.iter().enumerate() {
        let (mut profit, mut thr) = (0.0, 0.0);
        let mut power = Vec::with_capacity(block.len());
        for (t, (long, short)) in block.iter().enumerate() {
            // Interior-point values carry ~1e-9 noise; net them per quarter-hour.
            let cv = solution.value(c[k][t]).max(0.0);
            let dv = solution.value(d[k][t]).max(0.0);
            let cell = cell_in * cv + cell_out * dv;
            profit += long * dv - short * cv - b.degradation_eur_per_mwh * cell;
            thr += cell;
            power.push((dv - cv) / duration_h);
        }
        out.day_profit_eur.push(profit);
        out.day_cycles.push(b.cycles_of(thr));
        out.power_mw.push(power);
        out.end_soc_mwh.push(solution.value(s[k][block.len() - 1]));
    }
    Ok(out)
}
