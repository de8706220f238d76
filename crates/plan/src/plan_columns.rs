//! The planner's view as observation columns (the "planner's output at the agent's state" of
//! arXiv 2510.04868, made cheap): at each quarter-hour a deterministic plan over the forecaster's
//! expected prices, solved by backward dynamic programming on a grid of states of charge, gives
//! the value of charging and of discharging now against waiting, at several states of charge at
//! once. The agent reads them beside its own state of charge, so one plan per quarter-hour serves
//! every state the agent can be in, and training pays for it once per setup, not per step.
//!
//! The plan ignores the daily cycle budget (the agent sees what it has left) and values the cell
//! energy left at the horizon at the training mean price, as the stochastic MPC does (or, planning
//! over the rolling MPC's forecast, at its window's mean price, as that MPC does).

use crate::error::PlanError;
use imbarb_sim::BatteryConfig;
use serde::{Deserialize, Serialize};

/// Energy grid of the backward pass: fine enough that interpolation error stays well under one
/// quarter-hour's move (41 points: 1/40 of the usable energy apart).
const GRID_POINTS: usize = 41;

/// Quarter-hours are 0.25 h.
const DT_H: f64 = 0.25;

/// Settings of the planner's columns (`[forecast_features.plan]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanColumns {
    /// Quarter-hours the plan looks ahead, the current one first (at most the forecaster's horizon).
    pub horizon: usize,
    /// States of charge the columns are given at, evenly spaced from the lowest allowed to the
    /// highest (at least 2).
    pub soc_points: usize,
    /// A residual agent: its action indices count from the plan's move at its state of charge
    /// (action 0 follows the plan, action k acts the level k places above it, wrapping round),
    /// so "follow the planner" is one output in every state. Needs an odd number of levels (the
    /// plan's waiting is the middle one).
    pub residual: bool,
    /// EUR per MWh of cell throughput the plan charges when the battery has a daily cycle cap:
    /// the budget's shadow price, so the plan moves only on spreads worth a share of the day's
    /// cycles (the trainer's `cycle_budget_shadow_price_eur_per_mwh` is the natural value).
    /// Ignored without a cap, as the trainer's is.
    pub cycle_price_eur_per_mwh: f64,
    /// EUR per MWh of cell throughput the plan adds to its cost of moving energy, with or
    /// without a cap (on top of the cycle price). Positive, a hurdle that keeps the plan off
    /// spreads no larger than its forecast's errors (the widest of many noisy spreads overstates
    /// what the market pays); negative, a premium for a plan whose expected prices understate
    /// the spreads (a conditional mean is smoother than the prices it forecasts). 0 (the
    /// default) changes nothing.
    pub hurdle_eur_per_mwh: f64,
    /// Plan over the rolling MPC's forecast (`mpc-rolling`: persistence into a profile and
    /// day-ahead blend refit every day on this many days before it) instead of the forecaster's
    /// expected prices: a planner that follows the market week by week. None: the forecaster's.
    pub rolling_mpc_days: Option<u32>,
    /// With `rolling_mpc_days`: the weight of the rolling MPC's forecast in the prices the plan
    /// plans over, the forecaster's expected prices taking the rest (1, the default: the MPC's
    /// alone). Two forecasts made from different information (the last weeks' persistence,
    /// profile and day-ahead blend; the forecaster's lags learnt over the whole training
    /// history) can average to a better one than either.
    pub rolling_mpc_weight: f64,
    /// Value the energy left at the horizon at the training days' mean price times the discharge
    /// efficiency (what it sells for, as the stochastic MPC values it) rather than at the mean
    /// price: a plan that holds less energy at its horizon.
    pub terminal_after_discharge: bool,
    /// With `rolling_mpc_days`: value the energy left at the horizon as the rolling MPC does,
    /// at the mean price of its window (the days before each day) times the discharge
    /// efficiency, rather than at the training days' mean. A plan that follows the market in the
    /// worth of stored energy as well as in its prices (the training mean of a history that
    /// spans a change of market can be far from today's prices).
    pub terminal_from_window: bool,
}

/// What the plan plans over at each quarter-hour row of the days when it follows the rolling
/// MPC: the MPC's forecast (`horizon` prices per row) and the value of stored energy per row.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingPlan {
    /// `horizon` forecast prices per row, the current quarter-hour first.
    pub prices: Vec<f64>,
    /// EUR per MWh of cell energy left at the horizon, per row.
    pub terminals: Vec<f64>,
}

impl Default for PlanColumns {
    fn default() -> Self {
        PlanColumns {
            horizon: 16,
            soc_points: 9,
            residual: false,
            cycle_price_eur_per_mwh: 0.0,
            hurdle_eur_per_mwh: 0.0,
            rolling_mpc_days: None,
            rolling_mpc_weight: 1.0,
            terminal_after_discharge: false,
            terminal_from_window: false,
        }
    }
}

/// The three moves the plan weighs: full charge, wait, full discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Charge at full power.
    Charge,
    /// Neither.
    Wait,
    /// Discharge at full power.
    Discharge,
}

impl PlanColumns {
    /// Checks the settings against the forecaster's horizon; the error names the key.
    pub fn check(&self, forecaster_horizon: usize) -> Result<(), PlanError> {
        if !(1..=forecaster_horizon).contains(&self.horizon) {
            return Err(PlanError::Config(format!(
                "forecast_features.plan.horizon = {}: expected 1..={forecaster_horizon} (the forecaster's horizon)",
                self.horizon
            )));
        }
        for (key, value, low) in [
            ("cycle_price_eur_per_mwh", self.cycle_price_eur_per_mwh, 0.0),
            ("hurdle_eur_per_mwh", self.hurdle_eur_per_mwh, -1e4),
        ] {
            if !(low..=1e4).contains(&value) {
                return Err(PlanError::Config(format!(
                    "forecast_features.plan.{key} = {value}: expected {low} to 10000 EUR/MWh"
                )));
            }
        }
        if let Some(n) = self.rolling_mpc_days {
            let max = imbarb_baselines::mpc_rolling::MAX_ROLLING_DAYS;
            if !(1..=max).contains(&n) {
                return Err(PlanError::Config(format!(
                    "forecast_features.plan.rolling_mpc_days = {n}: expected 1 to {max} days"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.rolling_mpc_weight) {
            return Err(PlanError::Config(format!(
                "forecast_features.plan.rolling_mpc_weight = {}: expected a weight from 0 to 1",
                self.rolling_mpc_weight
            )));
        }
        if self.rolling_mpc_weight != 1.0 && self.rolling_mpc_days.is_none() {
            return Err(PlanError::Config(
                "forecast_features.plan.rolling_mpc_weight: needs rolling_mpc_days (the MPC whose forecast it weighs)".into(),
            ));
        }
        if self.terminal_from_window {
            if self.rolling_mpc_days.is_none() {
                return Err(PlanError::Config(
                    "forecast_features.plan.terminal_from_window = true: needs rolling_mpc_days (the window whose mean price values stored energy)".into(),
                ));
            }
            if self.terminal_after_discharge {
                return Err(PlanError::Config(
                    "forecast_features.plan: terminal_from_window already values stored energy after the discharge efficiency; drop terminal_after_discharge".into(),
                ));
            }
        }
        // The names tell states apart by whole percents of capacity: 101 at most.
        if !(2..=101).contains(&self.soc_points) {
            return Err(PlanError::Config(format!(
                "forecast_features.plan.soc_points = {}: expected 2..=101",
                self.soc_points
            )));
        }
        Ok(())
    }

    /// EUR per MWh of cell energy left at the horizon, from the training days' mean price.
    pub fn terminal_eur_per_mwh(&self, mean_price: f64, battery: &BatteryConfig) -> f64 {
        if self.terminal_after_discharge {
            mean_price * battery.discharge_efficiency
        } else {
            mean_price
        }
    }

    /// What the plan plans over at every quarter-hour row of `days` (rows in day order as the
    /// forecaster's) when it reads the rolling MPC's forecast (`rolling_mpc_days`; `rule`: when
    /// the day-ahead curve is public), stored energy valued at `terminal` (EUR/MWh) unless
    /// `terminal_from_window` values it from each day's window; `None` when the plan reads the
    /// forecaster's expected prices.
    pub fn rolling_prices(
        &self,
        days: &imbarb_sim::MarketDays,
        battery: &BatteryConfig,
        rule: &imbarb_sim::DayAheadRule,
        terminal: f64,
    ) -> Result<Option<RollingPlan>, PlanError> {
        let Some(n) = self.rolling_mpc_days else {
            return Ok(None);
        };
        let prices = imbarb_baselines::mpc_rolling::rolling_forecasts(
            days,
            n,
            self.horizon,
            *battery,
            rule,
        )?;
        let terminals = days
            .days
            .iter()
            .flat_map(|day| {
                let t = self.day_terminal(days, battery, day.date, terminal);
                std::iter::repeat_n(t, day.n_qh())
            })
            .collect();
        Ok(Some(RollingPlan { prices, terminals }))
    }

    /// The prices the plan plans over at one quarter-hour: the rolling MPC's forecast
    /// (`rolling`, when the plan reads it) weighed with the forecaster's expected prices
    /// (`forecast`, the current quarter-hour first) by `rolling_mpc_weight`, or the forecaster's
    /// alone; `horizon` of them.
    pub fn planned_prices(
        &self,
        rolling: Option<&[f64]>,
        forecast: impl Iterator<Item = f64>,
    ) -> Vec<f64> {
        let w = self.rolling_mpc_weight;
        match rolling {
            Some(r) if w == 1.0 => r[..self.horizon].to_vec(),
            Some(r) => r[..self.horizon]
                .iter()
                .zip(forecast)
                .map(|(m, f)| w * m + (1.0 - w) * f)
                .collect(),
            None => forecast.take(self.horizon).collect(),
        }
    }

    /// True when the plan reads the forecaster's expected prices (not the rolling MPC's
    /// forecast alone).
    pub fn reads_forecast(&self) -> bool {
        self.rolling_mpc_days.is_none() || self.rolling_mpc_weight < 1.0
    }

    /// `rolling_prices` of the quarter-hour at grid index `g` of `date` alone (`days` holding
    /// the complete days of the window before it): its prices and value of stored energy.
    pub fn rolling_prices_at(
        &self,
        days: &imbarb_sim::MarketDays,
        battery: &BatteryConfig,
        rule: &imbarb_sim::DayAheadRule,
        terminal: f64,
        date: chrono::NaiveDate,
        g: usize,
    ) -> Result<Option<(Vec<f64>, f64)>, PlanError> {
        let Some(n) = self.rolling_mpc_days else {
            return Ok(None);
        };
        let prices = imbarb_baselines::mpc_rolling::rolling_forecast_at(
            days,
            n,
            self.horizon,
            *battery,
            rule,
            date,
            g,
        )?;
        Ok(Some((
            prices,
            self.day_terminal(days, battery, date, terminal),
        )))
    }

    /// The value of stored energy on `date`: from the rolling window with
    /// `terminal_from_window` (`terminal` on a day with no day before it in the window, as
    /// the rolling forecast falls back there too), else `terminal`.
    fn day_terminal(
        &self,
        days: &imbarb_sim::MarketDays,
        battery: &BatteryConfig,
        date: chrono::NaiveDate,
        terminal: f64,
    ) -> f64 {
        match (self.terminal_from_window, self.rolling_mpc_days) {
            (true, Some(n)) => {
                imbarb_baselines::mpc_rolling::rolling_terminal(days, n, battery, date)
                    .unwrap_or(terminal)
            }
            _ => terminal,
        }
    }

    /// Number of columns: a charge and a discharge value per state of charge.
    pub fn width(&self) -> usize {
        2 * self.soc_points
    }

    /// Column names: `plan_soc{percent of capacity}_{charge|discharge}`; an error when two
    /// states of charge round to the same percent (a grid finer than the names can tell apart).
    pub fn names(&self, battery: &BatteryConfig) -> Result<Vec<String>, PlanError> {
        let percents: Vec<u32> = self
            .soc_energies(battery)
            .into_iter()
            .map(|e| (100.0 * e / battery.energy_mwh).round() as u32)
            .collect();
        if percents.windows(2).any(|w| w[0] == w[1]) {
            return Err(PlanError::Config(format!(
                "forecast_features.plan.soc_points = {}: states of charge less than 1 % of capacity apart on this battery's range ({} .. {} %)",
                self.soc_points,
                100.0 * battery.soc_min,
                100.0 * battery.soc_max
            )));
        }
        Ok(percents
            .into_iter()
            .flat_map(|pct| {
                [
                    format!("plan_soc{pct:03}_charge"),
                    format!("plan_soc{pct:03}_discharge"),
                ]
            })
            .collect())
    }

    /// The scale the columns are divided by: one quarter-hour at full power, valued at one
    /// standard deviation of the training prices (EUR), so a column of 1 is a typical move's worth.
    pub fn scale(battery: &BatteryConfig, price_std: f64) -> f64 {
        let energy = battery.charge_power_mw.max(battery.discharge_power_mw) * DT_H;
        (energy * price_std).max(f64::MIN_POSITIVE)
    }

    /// The plan's move at cell energy `soc_mwh`, read from one decision's columns as `push`
    /// wrote them (any positive scale): the charge and discharge values interpolated between the
    /// two nearest states of charge of the grid; waiting unless one of them is positive, the
    /// larger when both are (charging on a tie). What a residual agent's actions count from.
    pub fn planned_move(&self, columns: &[f32], battery: &BatteryConfig, soc_mwh: f64) -> Move {
        let lo = battery.soc_min_mwh();
        let spacing = (battery.soc_max_mwh() - lo) / (self.soc_points - 1) as f64;
        let at = |k: usize| {
            let column = |i: usize| columns[2 * i + k] as f64;
            interpolate(self.soc_points, column, lo, spacing, soc_mwh)
        };
        best_move(at(0), at(1))
    }

    /// The battery as the plan sees it: the hurdle, and with a cycle cap the cycle price, added
    /// to the cost of each MWh of cell throughput.
    pub(crate) fn planned_battery(&self, battery: &BatteryConfig) -> BatteryConfig {
        let mut b = *battery;
        b.degradation_eur_per_mwh += self.hurdle_eur_per_mwh;
        if b.cycles_per_day.is_some() {
            b.degradation_eur_per_mwh += self.cycle_price_eur_per_mwh;
        }
        b
    }

    /// Cell energies (MWh) the columns are given at.
    fn soc_energies(&self, battery: &BatteryConfig) -> Vec<f64> {
        grid(battery, self.soc_points)
    }

    /// Appends the columns for one decision: at each of the `soc_points` states of charge, the
    /// plan's value of charging now minus waiting, then of discharging now minus waiting (EUR,
    /// divided by `scale`). `expected` holds the expected price of each quarter-hour ahead, the
    /// current one first (at least `horizon` of them).
    pub fn push(
        &self,
        expected: &[f64],
        battery: &BatteryConfig,
        terminal_eur_per_mwh: f64,
        scale: f64,
        out: &mut Vec<f32>,
    ) {
        let values = advantages(
            &expected[..self.horizon],
            &self.planned_battery(battery),
            terminal_eur_per_mwh,
            &self.soc_energies(battery),
        );
        out.extend(values.into_iter().map(|v| (v / scale) as f32));
    }
}

/// The plan's move from its values of charging and discharging against waiting: waiting unless
/// one of them is positive, the larger when both are (charging on a tie).
pub fn best_move(charge: f64, discharge: f64) -> Move {
    if charge <= 0.0 && discharge <= 0.0 {
        Move::Wait
    } else if charge >= discharge {
        Move::Charge
    } else {
        Move::Discharge
    }
}

/// `n` cell energies evenly spaced over the allowed range.
fn grid(battery: &BatteryConfig, n: usize) -> Vec<f64> {
    let (lo, hi) = (battery.soc_min_mwh(), battery.soc_max_mwh());
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1).max(1) as f64)
        .collect()
}

/// The battery as the plan's moves need it, worked out once per plan rather than per move.
struct Moves {
    cell_in: f64,
    cell_out: f64,
    deg: f64,
    /// Cell energy a full quarter-hour of charging adds / of discharging removes, MWh.
    charge_cell: f64,
    discharge_cell: f64,
    soc_min: f64,
    soc_max: f64,
}

impl Moves {
    fn of(battery: &BatteryConfig) -> Moves {
        let (cell_in, cell_out) = battery.cell_per_grid_mwh();
        Moves {
            cell_in,
            cell_out,
            deg: battery.degradation_eur_per_mwh,
            charge_cell: battery.charge_power_mw * DT_H * cell_in,
            discharge_cell: battery.discharge_power_mw * DT_H * cell_out,
            soc_min: battery.soc_min_mwh(),
            soc_max: battery.soc_max_mwh(),
        }
    }

    /// One quarter-hour's move from cell energy `e` at price `p`: (profit EUR, next cell
    /// energy). Power is cut at the energy limits (the environment's `clip` rule; under `whole`
    /// the agent's mask forbids such a move, and the plan's value of it is then a bound).
    fn step(&self, e: f64, p: f64, m: Move) -> (f64, f64) {
        match m {
            Move::Wait => (0.0, e),
            Move::Charge => {
                let cell = self.charge_cell.min(self.soc_max - e).max(0.0);
                (-p * cell / self.cell_in - self.deg * cell, e + cell)
            }
            Move::Discharge => {
                let cell = self.discharge_cell.min(e - self.soc_min).max(0.0);
                (p * cell / self.cell_out - self.deg * cell, e - cell)
            }
        }
    }
}

/// A function known at `n` evenly spaced energies from `lo` (`value(i)` at the i-th), linearly
/// interpolated at `e`; the nearest end's value beyond them (the first's when there is one).
fn interpolate(n: usize, value: impl Fn(usize) -> f64, lo: f64, spacing: f64, e: f64) -> f64 {
    if n < 2 || spacing <= 0.0 {
        return value(0);
    }
    let x = ((e - lo) / spacing).clamp(0.0, (n - 1) as f64);
    let i = (x.floor() as usize).min(n - 2);
    let w = x - i as f64;
    value(i) * (1.0 - w) + value(i + 1) * w
}

/// The plan's advantages at each of `at` (cell energies): [charge - wait, discharge - wait] per
/// energy, by backward induction over `prices` with the energy left at the end valued at
/// `terminal_eur_per_mwh`.
pub fn advantages(
    prices: &[f64],
    battery: &BatteryConfig,
    terminal_eur_per_mwh: f64,
    at: &[f64],
) -> Vec<f64> {
    let moves = Moves::of(battery);
    let energies = grid(battery, GRID_POINTS);
    let lo = energies[0];
    let spacing = energies[1] - energies[0];
    // Value after the last quarter-hour, then backwards to the one after the current.
    let mut v: Vec<f64> = energies.iter().map(|e| terminal_eur_per_mwh * e).collect();
    let mut next = vec![0.0; GRID_POINTS];
    for &p in prices.iter().skip(1).rev() {
        for (slot, &e) in next.iter_mut().zip(&energies) {
            *slot = [Move::Charge, Move::Wait, Move::Discharge]
                .into_iter()
                .map(|m| {
                    let (r, e2) = moves.step(e, p, m);
                    r + interpolate(v.len(), |i| v[i], lo, spacing, e2)
                })
                .fold(f64::NEG_INFINITY, f64::max);
        }
        std::mem::swap(&mut v, &mut next);
    }
    let p0 = prices[0];
    let q = |e: f64, m: Move| {
        let (r, e2) = moves.step(e, p0, m);
        r + interpolate(v.len(), |i| v[i], lo, spacing, e2)
    };
    at.iter()
        .flat_map(|&e| {
            let wait = q(e, Move::Wait);
            [q(e, Move::Charge) - wait, q(e, Move::Discharge) - wait]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battery() -> BatteryConfig {
        BatteryConfig::default()
    }

    /// Brute force: every sequence of moves over a short horizon, exact energies (no grid).
    fn best_from(b: &BatteryConfig, prices: &[f64], e: f64, terminal: f64) -> f64 {
        match prices.split_first() {
            None => terminal * e,
            Some((&p, rest)) => [Move::Charge, Move::Wait, Move::Discharge]
                .into_iter()
                .map(|m| {
                    let (r, e2) = Moves::of(b).step(e, p, m);
                    r + best_from(b, rest, e2, terminal)
                })
                .fold(f64::NEG_INFINITY, f64::max),
        }
    }

    #[test]
    fn advantages_match_a_brute_force_search_within_interpolation_error() {
        // 1 MW / 2 MWh, 0.9 / 0.9: a charge adds 0.225 MWh, a discharge removes 0.2778 MWh,
        // neither a multiple of the 0.05 MWh grid: interpolation error stays small, not zero.
        let b = battery();
        let prices = [40.0, -20.0, 150.0, 90.0, 10.0, 200.0];
        let terminal = 80.0;
        let at = grid(&b, 5);
        let got = advantages(&prices, &b, terminal, &at);
        for (i, &e) in at.iter().enumerate() {
            let q = |m| {
                let (r, e2) = Moves::of(&b).step(e, prices[0], m);
                r + best_from(&b, &prices[1..], e2, terminal)
            };
            let wait = q(Move::Wait);
            let want = [q(Move::Charge) - wait, q(Move::Discharge) - wait];
            for k in 0..2 {
                assert!(
                    (got[2 * i + k] - want[k]).abs() < 2.0,
                    "energy {e}, move {k}: dp {} vs brute force {}",
                    got[2 * i + k],
                    want[k]
                );
            }
        }
    }

    #[test]
    fn one_quarter_hour_values_moves_at_price_against_terminal_value() {
        // Horizon 1: charging buys 0.25 MWh at p and stores 0.225 MWh worth `terminal` each.
        let b = battery();
        let at = [b.soc_min_mwh() + 0.5];
        let got = advantages(&[100.0], &b, 60.0, &at);
        let charge = -100.0 * 0.25 + 60.0 * 0.25 * 0.9;
        let discharge = 100.0 * 0.25 - 60.0 * 0.25 / 0.9;
        assert!((got[0] - charge).abs() < 1e-9, "{} vs {charge}", got[0]);
        assert!(
            (got[1] - discharge).abs() < 1e-9,
            "{} vs {discharge}",
            got[1]
        );
    }

    #[test]
    fn the_plan_charges_the_cycle_price_under_a_cap_and_the_hurdle_always() {
        // Horizon 1 at 100 EUR/MWh, terminal 60: as above, less the price per cell MWh moved
        // (0.225 MWh into the cells charging, 0.25 / 0.9 out discharging): the cycle price (50)
        // with a cap only, the hurdle (20, or a premium of 20) with or without one.
        for (hurdle, cap) in [
            (0.0, None),
            (0.0, Some(1.1)),
            (20.0, None),
            (20.0, Some(1.1)),
            (-20.0, None),
        ] {
            let plan = PlanColumns {
                horizon: 1,
                soc_points: 2,
                cycle_price_eur_per_mwh: 50.0,
                hurdle_eur_per_mwh: hurdle,
                ..PlanColumns::default()
            };
            let b = BatteryConfig {
                cycles_per_day: cap,
                ..battery()
            };
            let mut got = vec![];
            plan.push(&[100.0], &b, 60.0, 1.0, &mut got);
            let price = hurdle + if cap.is_some() { 50.0 } else { 0.0 };
            let charge = -100.0 * 0.25 + 60.0 * 0.225 - price * 0.225;
            let discharge = 100.0 * 0.25 - (60.0 + price) * 0.25 / 0.9;
            // At the lowest state only charging moves; at the highest only discharging.
            let case = format!("hurdle {hurdle}, cap {cap:?}");
            assert!(
                (got[0] as f64 - charge).abs() < 1e-4,
                "{case}: {} vs {charge}",
                got[0]
            );
            assert_eq!((got[1], got[2]), (0.0, 0.0), "{case}");
            assert!(
                (got[3] as f64 - discharge).abs() < 1e-4,
                "{case}: {} vs {discharge}",
                got[3]
            );
        }
        let bad = [
            (
                PlanColumns {
                    cycle_price_eur_per_mwh: -1.0,
                    ..PlanColumns::default()
                },
                "cycle_price_eur_per_mwh = -1",
            ),
            (
                PlanColumns {
                    hurdle_eur_per_mwh: -1e5,
                    ..PlanColumns::default()
                },
                "hurdle_eur_per_mwh = -100000",
            ),
            (
                PlanColumns {
                    hurdle_eur_per_mwh: 1e5,
                    ..PlanColumns::default()
                },
                "hurdle_eur_per_mwh = 100000",
            ),
            (
                PlanColumns {
                    hurdle_eur_per_mwh: f64::NAN,
                    ..PlanColumns::default()
                },
                "hurdle_eur_per_mwh = NaN",
            ),
        ];
        for (plan, key) in bad {
            let e = plan.check(16).unwrap_err().to_string();
            assert!(e.contains(&format!("forecast_features.plan.{key}")), "{e}");
        }
    }

    #[test]
    fn the_plan_weighs_the_rolling_mpcs_forecast_with_the_forecasters() {
        let mpc = [100.0, 80.0, 60.0];
        let forecast = [40.0, 40.0, 100.0, 999.0];
        let plan = |w| PlanColumns {
            horizon: 3,
            rolling_mpc_days: Some(28),
            rolling_mpc_weight: w,
            ..PlanColumns::default()
        };
        let at = |w, rolling: Option<&[f64]>| plan(w).planned_prices(rolling, forecast.into_iter());
        assert_eq!(at(1.0, Some(&mpc)), mpc);
        assert_eq!(at(0.0, Some(&mpc)), [40.0, 40.0, 100.0]);
        assert_eq!(at(0.25, Some(&mpc)), [55.0, 50.0, 90.0]);
        // Without the MPC's forecast, the forecaster's alone, `horizon` of them.
        assert_eq!(at(1.0, None), [40.0, 40.0, 100.0]);
        assert!(!plan(1.0).reads_forecast() && plan(0.5).reads_forecast());
        assert!(PlanColumns::default().reads_forecast());
        for (bad, key) in [
            (
                plan(1.5),
                "rolling_mpc_weight = 1.5: expected a weight from 0 to 1",
            ),
            (plan(f64::NAN), "rolling_mpc_weight = NaN"),
            (
                PlanColumns {
                    rolling_mpc_days: None,
                    ..plan(0.5)
                },
                "rolling_mpc_weight: needs rolling_mpc_days",
            ),
        ] {
            let e = bad.check(16).unwrap_err().to_string();
            assert!(e.contains(&format!("forecast_features.plan.{key}")), "{e}");
        }
        plan(0.5).check(16).unwrap();
    }

    #[test]
    fn a_full_battery_cannot_charge_and_an_empty_one_cannot_discharge() {
        let b = battery();
        let at = grid(&b, 3);
        let got = advantages(&[-50.0, 300.0, 300.0], &b, 80.0, &at);
        assert_eq!(got[4], 0.0, "charging a full battery changes nothing");
        assert_eq!(got[1], 0.0, "discharging an empty battery changes nothing");
        assert!(
            got[0] > 0.0,
            "cheap now, dear later: charge an empty battery"
        );
        assert!(got[2] > 0.0, "and a half-full one");
    }

    #[test]
    fn the_planned_move_interpolates_between_states_of_charge() {
        // Two states (lowest, highest): charge 1 / discharge -1 at the bottom, charge -1 /
        // discharge 3 at the top. Halfway: charge 0, discharge 1; a quarter up: charge 0.5,
        // discharge 0.
        let b = battery();
        let plan = PlanColumns {
            horizon: 4,
            soc_points: 2,
            residual: true,
            ..PlanColumns::default()
        };
        let cols = [1.0, -1.0, -1.0, 3.0];
        let (lo, hi) = (b.soc_min_mwh(), b.soc_max_mwh());
        let at = |f: f64| plan.planned_move(&cols, &b, lo + f * (hi - lo));
        assert_eq!(at(0.0), Move::Charge);
        assert_eq!(at(0.25), Move::Charge);
        assert_eq!(at(0.5), Move::Discharge);
        assert_eq!(at(1.0), Move::Discharge);
        // Beyond the range: the nearest state's values.
        assert_eq!(plan.planned_move(&cols, &b, lo - 1.0), Move::Charge);
        // Neither move pays: wait; a tie between two that pay: charge.
        assert_eq!(
            plan.planned_move(&[0.0, -2.0, -0.5, 0.0], &b, hi),
            Move::Wait
        );
        assert_eq!(
            plan.planned_move(&[2.0, 2.0, 2.0, 2.0], &b, hi),
            Move::Charge
        );
    }

    #[test]
    fn the_planned_move_is_the_best_of_the_plans_values_at_that_state() {
        // On a fine grid of columns, the move read at any state of charge is the best of the
        // plan's values computed at that state directly, wherever they are not a near tie.
        let b = battery();
        let plan = PlanColumns {
            horizon: 6,
            soc_points: 101,
            residual: true,
            ..PlanColumns::default()
        };
        let scale = PlanColumns::scale(&b, 50.0);
        let mut checked = 0;
        for prices in [
            [40.0, -20.0, 150.0, 90.0, 10.0, 200.0],
            [200.0, 180.0, 20.0, 10.0, 90.0, 60.0],
            [80.0, 82.0, 79.0, 81.0, 80.0, 80.0],
        ] {
            let mut cols = vec![];
            plan.push(&prices, &b, 80.0, scale, &mut cols);
            for k in 0..=40 {
                let e = b.soc_min_mwh() + (b.soc_max_mwh() - b.soc_min_mwh()) * k as f64 / 40.0;
                let v = advantages(&prices, &b, 80.0, &[e]);
                let (charge, discharge) = (v[0], v[1]);
                let mut ranked = [
                    (charge, Move::Charge),
                    (0.0, Move::Wait),
                    (discharge, Move::Discharge),
                ];
                ranked.sort_by(|x, y| y.0.total_cmp(&x.0));
                if ranked[0].0 - ranked[1].0 < 0.5 {
                    continue;
                }
                assert_eq!(
                    plan.planned_move(&cols, &b, e),
                    ranked[0].1,
                    "prices {prices:?}, energy {e}"
                );
                checked += 1;
            }
        }
        assert!(checked > 80, "only {checked} states away from a tie");
    }

    #[test]
    fn bad_settings_are_refused_by_key() {
        let bad = PlanColumns {
            horizon: 17,
            ..PlanColumns::default()
        };
        let e = bad.check(16).unwrap_err().to_string();
        assert!(e.contains("forecast_features.plan.horizon = 17"), "{e}");
        let bad = PlanColumns {
            horizon: 4,
            soc_points: 1,
            ..PlanColumns::default()
        };
        let e = bad.check(16).unwrap_err().to_string();
        assert!(e.contains("forecast_features.plan.soc_points = 1"), "{e}");
        let huge = PlanColumns {
            horizon: 4,
            soc_points: 1_000_000_000,
            ..PlanColumns::default()
        };
        let e = huge.check(16).unwrap_err().to_string();
        assert!(
            e.contains("soc_points = 1000000000: expected 2..=101"),
            "{e}"
        );
    }

    #[test]
    fn names_give_the_state_of_charge_in_percent() {
        let b = battery();
        let names = PlanColumns {
            horizon: 4,
            soc_points: 3,
            ..PlanColumns::default()
        }
        .names(&b)
        .unwrap();
        let lo = (100.0 * b.soc_min) as u32;
        let hi = (100.0 * b.soc_max) as u32;
        assert_eq!(names.len(), 6);
        assert_eq!(names[0], format!("plan_soc{lo:03}_charge"));
        assert_eq!(names[5], format!("plan_soc{hi:03}_discharge"));
        // 21 states over 10 % of capacity cannot be told apart by percent.
        let narrow = BatteryConfig {
            soc_min: 0.45,
            soc_max: 0.55,
            ..b
        };
        let e = PlanColumns {
            horizon: 4,
            soc_points: 21,
            ..PlanColumns::default()
        }
        .names(&narrow)
        .unwrap_err()
        .to_string();
        assert!(e.contains("forecast_features.plan.soc_points = 21"), "{e}");
    }
}
