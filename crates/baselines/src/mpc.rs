//! Forecast-based model predictive control: at every quarter-hour, forecast the next `horizon`
//! prices (persistence of the last known deviation from the training profile, decaying with the
//! training lag-1 autocorrelation), solve the LP on that forecast from the current SoC with the
//! cycle budget left today, and apply the first step.

use crate::error::BaselineError;
use crate::lp::solve_prices;
use crate::rules::train_profile;
use imbarb_sim::{
    action_for_fraction, Action, ActionSpace, BatteryConfig, Decision, MarketDays, Policy,
};

/// The forecast MPC policy.
#[derive(Debug, Clone)]
pub struct ForecastMpc {
    /// Training-average price per Brussels wall-clock slot (96).
    pub profile: Vec<f64>,
    /// Lag-1 autocorrelation of the price's deviation from the profile (training days).
    pub rho: f64,
    /// Quarter-hours looked ahead.
    pub horizon: usize,
    /// Value per MWh of cell energy left at the horizon (training mean price x discharge efficiency).
    pub terminal_eur_per_mwh: f64,
    /// The battery being controlled.
    pub battery: BatteryConfig,
    /// The action space to answer in.
    pub space: ActionSpace,
    /// The fraction decided at the current quarter-hour's start (held through its minutes).
    held: Option<(usize, usize, f64)>,
}

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
        let (mut num, mut den) = (0.0, 0.0);
        let mut mean_price = (0.0f64, 0.0f64);
        for &d in train {
            let day = &days.days[d];
            let dev: Vec<f64> = day
                .prices
                .iter()
                .enumerate()
                .map(|(q, p)| {
                    let slot = imbarb_market::calendar::wall_clock_slot(
                        days.qh_start(day.grid_offset + q),
                    );
                    p.reference_eur_per_mwh() - profile[slot]
                })
                .collect();
            for w in dev.windows(2) {
                num += w[0] * w[1];
                den += w[0] * w[0];
            }
            for p in &day.prices {
                mean_price.0 += p.reference_eur_per_mwh();
                mean_price.1 += 1.0;
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
            horizon,
            terminal_eur_per_mwh: (mean_price.0 / mean_price.1.max(1.0))
                * battery.discharge_efficiency,
            battery,
            space,
            held: None,
        })
    }

    /// The forecast of the next `horizon` quarter-hours from a decision.
    pub fn forecast(&self, d: &Decision) -> Vec<f64> {
        let last = d.known_prices.iter().rev().find(|p| !p.is_nan()).copied();
        let prev_slot = (d.slot + 95) % 96;
        let dev = last.map_or(0.0, |p| p - self.profile[prev_slot]);
        (0..self.horizon)
            .map(|h| self.profile[(d.slot + h) % 96] + self.rho.powi(h as i32 + 1) * dev)
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
            Ok(s) => s.power_mw.first().and_then(|p| p.first()).map_or(0.0, |p| {
                if *p >= 0.0 {
                    p / self.battery.discharge_power_mw.max(1e-12)
                } else {
                    p / self.battery.charge_power_mw.max(1e-12)
                }
            }),
            Err(_) => 0.0,
        }
    }
}

impl Policy for ForecastMpc {
    fn name(&self) -> String {
        format!("mpc(horizon {} QH, rho {:.2})", self.horizon, self.rho)
    }
    fn act(&mut self, d: &Decision) -> Action {
        let f = match self.held {
            Some((day, qh, f)) if day == d.day_index && qh == d.qh => f,
            _ => {
                let f = self.plan(d);
                self.held = Some((d.day_index, d.qh, f));
                f
            }
        };
        action_for_fraction(self.space, f, d.mask)
    }
}
