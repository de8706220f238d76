//! Forecast-based model predictive control: at every quarter-hour, forecast the next `horizon`
//! prices (a base curve, plus persistence of the last known deviation from it decaying with the
//! training lag-1 autocorrelation), solve the LP on that forecast from the current SoC with the
//! cycle budget left today, and apply the first step. The base curve is the training profile by
//! time of day or, where the day-ahead price is public, a least-squares blend of the day-ahead
//! price and the profile fitted on the training days.

use crate::error::BaselineError;
use crate::lp::solve_prices;
use crate::rules::train_profile;
use imbarb_sim::actions::mw_to_fraction;
use imbarb_sim::{
    action_for_fraction, Action, ActionSpace, BatteryConfig, Decision, HeldPlan, MarketDays, Policy,
};

/// The forecast MPC policy.
#[derive(Debug, Clone)]
pub struct ForecastMpc {
    /// Training-average price per Brussels wall-clock slot (96).
    pub profile: Vec<f64>,
    /// Lag-1 autocorrelation of the price's deviation from the base curve (training days).
    pub rho: f64,
    /// Base curve where the day-ahead price is public: `a + b * day-ahead + c * profile`
    /// (least squares on the training days; `None` without day-ahead prices there).
    pub day_ahead_blend: Option<[f64; 3]>,
    /// Quarter-hours looked ahead.
    pub horizon: usize,
    /// Value per MWh of cell energy left at the horizon (training mean price x discharge efficiency).
    pub terminal_eur_per_mwh: f64,
    /// The battery being controlled.
    pub battery: BatteryConfig,
    /// The action space to answer in.
    pub space: ActionSpace,
    /// The fraction decided at the current quarter-hour's start (held through its minutes).
    held: HeldPlan,
}

/// The MPC look-ahead (quarter-hours) of backtests, experiments, the quickstart and the live
/// service's shadow: four hours, the horizon the shipped MPC baseline figures use.
pub const DEFAULT_MPC_HORIZON: usize = 16;

/// The longest MPC look-ahead, in quarter-hours: a week. The forecast is persistence fading into
/// a time-of-day profile, so a longer horizon adds LP size and nothing else.
pub const MAX_MPC_HORIZON: usize = 672;

impl ForecastMpc {
    /// Fits the profile and autocorrelation on training days.
    pub fn fit(
        days: &MarketDays,
        train: &[usize],
        battery: BatteryConfig,
        space: ActionSpace,
        horizon: usize,
    ) -> Result<ForecastMpc, BaselineError> {
        if train.is_empty() {
            return Err(BaselineError::NoTrainingDays("MPC"));
        }
        if !(1..=MAX_MPC_HORIZON).contains(&horizon) {
            return Err(BaselineError::Horizon(horizon));
        }
        let profile = train_profile(days, train);
        let slot_of = |g: usize| imbarb_market::calendar::wall_clock_slot(days.qh_start(g));
        let day_ahead_blend = fit_blend(days, train, &profile);
        let base =
            |g: usize| base_price(day_ahead_blend, days.day_ahead_at(g), profile[slot_of(g)]);
        let (mut num, mut den) = (0.0, 0.0);
        for &d in train {
            let day = &days.days[d];
            let dev: Vec<f64> = day
                .prices
                .iter()
                .enumerate()
                .map(|(q, p)| p.reference_eur_per_mwh() - base(day.grid_offset + q))
                .collect();
            for w in dev.windows(2) {
                num += w[0] * w[1];
                den += w[0] * w[0];
            }
        }
        let rho = if den > 0.0 {
            (num / den).clamp(0.0, 0.999)
        } else {
            0.0
        };
        Ok(ForecastMpc {
            profile,
            rho,
            day_ahead_blend,
            horizon,
            terminal_eur_per_mwh: mean_training_price(days, train) * battery.discharge_efficiency,
            battery,
            space,
            held: HeldPlan::default(),
        })
    }

    /// The forecast of the next `horizon` quarter-hours from a decision.
    pub fn forecast(&self, d: &Decision) -> Vec<f64> {
        self.forecast_from(d.known_prices, d.day_ahead_known, d.slot)
    }

    /// The forecast of the next `horizon` quarter-hours from the final prices published so far
    /// (`known_prices`, one per grid quarter-hour up to the current one), the day-ahead curve as
    /// published by now (same grid) and the current quarter-hour's wall-clock slot.
    pub fn forecast_from(
        &self,
        known_prices: &[f64],
        day_ahead_known: &[f64],
        slot: usize,
    ) -> Vec<f64> {
        let g = known_prices.len();
        let last = known_prices.iter().rev().find(|p| !p.is_nan()).copied();
        let prev_slot = (slot + 95) % 96;
        let da = |i: Option<usize>| {
            i.and_then(|i| day_ahead_known.get(i))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let prev_base = base_price(
            self.day_ahead_blend,
            da(g.checked_sub(1)),
            self.profile[prev_slot],
        );
        let dev = last.map_or(0.0, |p| p - prev_base);
        (0..self.horizon)
            .map(|h| {
                let base = base_price(
                    self.day_ahead_blend,
                    da(Some(g + h)),
                    self.profile[(slot + h) % 96],
                );
                base + self.rho.powi(h as i32 + 1) * dev
            })
            .collect()
    }

    fn plan(&self, d: &Decision) -> f64 {
        let f = self.forecast(d);
        let today = (d.n_qh - d.qh).min(f.len());
        let blocks = vec![
            f[..today].iter().map(|p| (*p, *p)).collect::<Vec<_>>(),
            f[today..].iter().map(|p| (*p, *p)).collect(),
        ];
        let budget = self.battery.daily_throughput_budget_mwh();
        let used = d.cycles_used * 2.0 * self.battery.energy_mwh;
        let budgets = [(budget - used).max(0.0), budget];
        match solve_prices(
            &blocks,
            &budgets,
            &self.battery,
            d.soc_mwh,
            0.25,
            self.terminal_eur_per_mwh,
        ) {
            Ok(s) => s
                .power_mw
                .first()
                .and_then(|p| p.first())
                .map_or(0.0, |p| mw_to_fraction(&self.battery, *p)),
            Err(_) => 0.0,
        }
    }
}

/// The mean final price over the training days, EUR/MWh: what a planner values the energy left
/// at its horizon by (times the discharge efficiency).
pub fn mean_training_price(days: &MarketDays, train: &[usize]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0.0f64);
    for &d in train {
        for p in &days.days[d].prices {
            sum += p.reference_eur_per_mwh();
            n += 1.0;
        }
    }
    sum / n.max(1.0)
}

/// The base price of a quarter-hour: the blend of its day-ahead price and profile where both
/// are known, else the profile.
fn base_price(blend: Option<[f64; 3]>, day_ahead: f64, profile: f64) -> f64 {
    match blend {
        Some([a, b, c]) if !day_ahead.is_nan() => a + b * day_ahead + c * profile,
        _ => profile,
    }
}

/// Least squares of the training prices on (1, day-ahead, profile) over the quarter-hours with
/// a day-ahead price; `None` with fewer than a day of them or a singular system. Solved by hand
/// (a 3x3 system): a linear-algebra crate for one normal equation is not worth its weight.
fn fit_blend(days: &MarketDays, train: &[usize], profile: &[f64]) -> Option<[f64; 3]> {
    let mut xtx = [[0.0f64; 3]; 3];
    let mut xty = [0.0f64; 3];
    let mut n = 0usize;
    for &d in train {
        let day = &days.days[d];
        for (q, p) in day.prices.iter().enumerate() {
            let g = day.grid_offset + q;
            let da = days.day_ahead_at(g);
            let pr = profile[imbarb_market::calendar::wall_clock_slot(days.qh_start(g))];
            if da.is_nan() || pr.is_nan() {
                continue;
            }
            let x = [1.0, da, pr];
            for i in 0..3 {
                for j in 0..3 {
                    xtx[i][j] += x[i] * x[j];
                }
                xty[i] += x[i] * p.reference_eur_per_mwh();
            }
            n += 1;
        }
    }
    if n < 96 {
        return None;
    }
    solve3(xtx, xty)
}

/// Solves a 3x3 linear system by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 * (1.0 + a[col][col].abs()) {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let top = a[col];
        for row in col + 1..3 {
            let f = a[row][col] / top[col];
            for (x, t) in a[row].iter_mut().zip(top).skip(col) {
                *x -= f * t;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

impl Policy for ForecastMpc {
    fn name(&self) -> String {
        match self.day_ahead_blend {
            Some([a, b, c]) => format!(
                "mpc(horizon {} QH, rho {:.2}, base {a:.1} + {b:.2} x day-ahead + {c:.2} x profile)",
                self.horizon, self.rho
            ),
            None => format!("mpc(horizon {} QH, rho {:.2})", self.horizon, self.rho),
        }
    }
    fn act(&mut self, d: &Decision) -> Action {
        let mut held = self.held;
        let f = held.get_or_plan(d, || self.plan(d));
        self.held = held;
        action_for_fraction(self.space, f, d.mask)
    }
}
