//! The forecast MPC refit every day on the most recent days (`mpc-rolling:DAYS`): what the live
//! service's MPC shadow does, as a backtest baseline. Fitted once on the training days, the MPC
//! carries a profile, a day-ahead blend and a persistence that may be months old by the test
//! days; refit each morning on the last few weeks it follows the market as an operator's MPC
//! would. Causal: day D's fit reads only complete days before D (all of their prices are
//! published by D's start), whichever split they belong to.

use crate::error::BaselineError;
use crate::mpc::ForecastMpc;
use chrono::{NaiveDate, TimeDelta};
use imbarb_market::calendar::wall_clock_slot;
use imbarb_sim::{
    action_for_fraction, Action, ActionSpace, BatteryConfig, DayAheadRule, Decision, MarketDays,
    Policy,
};
use std::collections::BTreeMap;

/// The rolling window of the live service's shadows and of `mpc-rolling` without a number.
pub const DEFAULT_ROLLING_DAYS: u32 = 28;

/// The longest rolling window, days (ten years).
pub const MAX_ROLLING_DAYS: u32 = 3_660;

/// One forecast MPC per decision day, each fitted on the complete days of the `window_days`
/// before it.
#[derive(Debug, Clone)]
pub struct RollingMpc {
    window_days: u32,
    horizon: usize,
    space: ActionSpace,
    by_day: BTreeMap<NaiveDate, ForecastMpc>,
}

impl RollingMpc {
    /// Fits an MPC for each of the days `decide_on` (indices into `days`) on the days of `days`
    /// dated in the `window_days` before it. An error names the first day with no day in its
    /// window (it could not decide).
    pub fn fit(
        days: &MarketDays,
        decide_on: &[usize],
        window_days: u32,
        battery: BatteryConfig,
        space: ActionSpace,
        horizon: usize,
    ) -> Result<RollingMpc, BaselineError> {
        if !(1..=MAX_ROLLING_DAYS).contains(&window_days) {
            return Err(BaselineError::RollingWindow(window_days));
        }
        let mut by_day = BTreeMap::new();
        for &d in decide_on {
            let date = days.days[d].date;
            let window = window_before(days, date, window_days);
            if window.is_empty() {
                return Err(BaselineError::EmptyWindow { date, window_days });
            }
            by_day.insert(
                date,
                ForecastMpc::fit(days, &window, battery, space, horizon)?,
            );
        }
        Ok(RollingMpc {
            window_days,
            horizon,
            space,
            by_day,
        })
    }

    /// The MPC deciding on `date`, if one was fitted for it.
    pub fn on(&self, date: NaiveDate) -> Option<&ForecastMpc> {
        self.by_day.get(&date)
    }
}

/// The rolling MPC's price forecast (`horizon` quarter-hours, the current one first) at the start
/// of every quarter-hour of every day of `days`, row by row in day order: from the final prices
/// before it, the day-ahead curve as `rule` has published it by then, and the MPC fitted on the
/// `window_days` before the day. A day with no day in its window (the data's first) forecasts
/// the last known price throughout (0 before the data's first price). What a planner plans over when it follows the market as
/// the rolling MPC does.
pub fn rolling_forecasts(
    days: &MarketDays,
    window_days: u32,
    horizon: usize,
    battery: BatteryConfig,
    rule: &DayAheadRule,
) -> Result<Vec<f64>, BaselineError> {
    let rows: usize = days.days.iter().map(|d| d.n_qh()).sum();
    let mut out = Vec::with_capacity(rows * horizon);
    for day in &days.days {
        let forecaster = DayForecaster::fit(days, day.date, window_days, horizon, battery, rule)?;
        for q in 0..day.n_qh() {
            out.extend(forecaster.at(days, day.grid_offset + q));
        }
    }
    Ok(out)
}

/// The rolling MPC's forecast at grid quarter-hour `g` of `date` alone: what `rolling_forecasts`
/// gives that quarter-hour (a deployed run's view, one decision at a time; `days` must hold
/// the complete days of the window before `date`). An error when it holds none: a deployed run
/// is handed its history, and deciding on the first-day fallback would not be what it learnt.
pub fn rolling_forecast_at(
    days: &MarketDays,
    window_days: u32,
    horizon: usize,
    battery: BatteryConfig,
    rule: &DayAheadRule,
    date: NaiveDate,
    g: usize,
) -> Result<Vec<f64>, BaselineError> {
    let forecaster = DayForecaster::fit(days, date, window_days, horizon, battery, rule)?;
    if forecaster.mpc.is_none() {
        return Err(BaselineError::EmptyWindow { date, window_days });
    }
    Ok(forecaster.at(days, g))
}

/// The rolling MPC's value of the cell energy left at its horizon on `date` (EUR/MWh): the mean
/// price of the days in the `window_days` before it times the discharge efficiency, as
/// `ForecastMpc::fit` values it on that window; `None` when the window holds no day. What a
/// planner following the market values stored energy at when it plans over `rolling_forecasts`.
pub fn rolling_terminal(
    days: &MarketDays,
    window_days: u32,
    battery: &BatteryConfig,
    date: NaiveDate,
) -> Option<f64> {
    let window = window_before(days, date, window_days);
    (!window.is_empty())
        .then(|| crate::mpc::mean_training_price(days, &window) * battery.discharge_efficiency)
}

/// One day's rolling forecaster: the MPC fitted on the window before it (none on the data's
/// first day) and when the day-ahead curve becomes known.
struct DayForecaster {
    mpc: Option<ForecastMpc>,
    ends: imbarb_sim::day_ahead::KnownEnds,
    horizon: usize,
}

impl DayForecaster {
    fn fit(
        days: &MarketDays,
        date: NaiveDate,
        window_days: u32,
        horizon: usize,
        battery: BatteryConfig,
        rule: &DayAheadRule,
    ) -> Result<DayForecaster, BaselineError> {
        if !(1..=MAX_ROLLING_DAYS).contains(&window_days) {
            return Err(BaselineError::RollingWindow(window_days));
        }
        let window = window_before(days, date, window_days);
        let space = ActionSpace::Discrete { levels: 3 };
        let mpc = match window.is_empty() {
            true => None,
            false => Some(ForecastMpc::fit(days, &window, battery, space, horizon)?),
        };
        Ok(DayForecaster {
            mpc,
            ends: rule.ends(days, date),
            horizon,
        })
    }

    /// The forecast at grid quarter-hour `g` from the prices before it.
    fn at(&self, days: &MarketDays, g: usize) -> Vec<f64> {
        let at = days.qh_start(g);
        let known = &days.grid_price[..g.min(days.grid_price.len())];
        match &self.mpc {
            Some(m) => {
                let end = self.ends.at(at).min(days.grid_day_ahead.len());
                m.forecast_from(known, &days.grid_day_ahead[..end], wall_clock_slot(at))
            }
            None => {
                let last = known.iter().rev().find(|p| !p.is_nan()).copied();
                vec![last.unwrap_or(0.0); self.horizon]
            }
        }
    }
}

/// Indices of the days of `days` dated in `[date - window_days, date)`.
pub fn window_before(days: &MarketDays, date: NaiveDate, window_days: u32) -> Vec<usize> {
    let first = date - TimeDelta::days(i64::from(window_days));
    (0..days.days.len())
        .filter(|&i| (first..date).contains(&days.days[i].date))
        .collect()
}

impl Policy for RollingMpc {
    fn name(&self) -> String {
        format!(
            "mpc-rolling({} days, horizon {} QH)",
            self.window_days, self.horizon
        )
    }

    /// The day's MPC decides; on a day it was not fitted for, it waits.
    fn act(&mut self, d: &Decision) -> Action {
        match self.by_day.get_mut(&d.date) {
            Some(mpc) => mpc.act(d),
            None => action_for_fraction(self.space, 0.0, d.mask),
        }
    }
}
