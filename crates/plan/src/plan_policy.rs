//! The planner alone (`--policy plan`): every quarter-hour the deterministic plan the agents
//! observe (`plan_columns`: backward dynamic programming over the forecaster's expected prices,
//! stored energy valued at the training mean price, the cycle price charged under a cap), acting
//! its move at the battery's exact state of charge. The ablation "planner alone" beside the
//! agents that observe or adjust it, and a baseline of its own, refit per walk-forward window.
//! Under a cycle cap its cycle price is fitted like the rule's thresholds: the one of a few that
//! earns most on the training days.

use crate::error::PlanError;
use crate::forecast::{expected_prices, ForecastConfig, QuantileModel};
use crate::forecaster::Forecaster;
use crate::gbdt::TreeSettings;
use crate::plan_columns::{advantages, best_move, Move, PlanColumns};
use imbarb_sim::{
    action_for_fraction, rollout, Action, ActionSpace, BatteryConfig, Decision, EnvConfig,
    HeldPlan, MarketDays, MarketFeatures, Policy,
};

/// The cycle prices (EUR per MWh of cell throughput) tried under a cap, on the training days.
pub const CYCLE_PRICES_TRIED: [f64; 5] = [0.0, 25.0, 50.0, 100.0, 200.0];

/// The plan's move each quarter-hour over a forecaster fitted on the training days.
pub struct PlanPolicy {
    /// Expected prices per quarter-hour row of the days, `horizon` each (the current first).
    expected: Vec<f64>,
    /// First row of each day.
    day_row: Vec<usize>,
    plan: PlanColumns,
    /// The battery as the plan sees it (the cycle price added under a cap).
    battery: BatteryConfig,
    /// EUR per MWh of cell energy left at the horizon, per quarter-hour row.
    terminals: Vec<f64>,
    space: ActionSpace,
    held: HeldPlan,
    /// Over the tree forecaster (`plan-trees`) rather than the MLP.
    trees: bool,
}

impl PlanPolicy {
    /// Fits the forecaster on `train` (indices into `days`; the trees when `trees` gives their
    /// settings, else the quantile MLP) and plans over its expected prices on every day of
    /// `days` for the battery and actions of `config`; `plan.horizon` at most the forecaster's.
    /// Under a cycle cap, `plan`'s cycle price is replaced by the one of `CYCLE_PRICES_TRIED`
    /// that earns most on `train` (`features`: the days' observations).
    pub fn fit(
        days: &MarketDays,
        features: &MarketFeatures,
        config: &EnvConfig,
        train: &[usize],
        forecast: &ForecastConfig,
        trees: Option<&TreeSettings>,
        plan: &PlanColumns,
    ) -> Result<PlanPolicy, PlanError> {
        plan.check(forecast.horizon)?;
        let forecaster = Forecaster::fit(days, train, forecast, trees)?;
        Self::over(days, features, config, train, &forecaster, plan)
    }

    /// The plan over `forecaster` (fitted on `train`).
    fn over(
        days: &MarketDays,
        features: &MarketFeatures,
        config: &EnvConfig,
        train: &[usize],
        forecaster: &Forecaster,
        plan: &PlanColumns,
    ) -> Result<PlanPolicy, PlanError> {
        let inputs = forecaster.features_for(days)?;
        // The day-ahead curve is public as the forecaster reads it (as for the agents' columns).
        let rule = forecaster
            .observation()
            .day_ahead_rule()
            .unwrap_or_default();
        // As the agents' columns value it: from the forecaster's mean training price, or each
        // day's rolling window.
        let terminal = plan.terminal_eur_per_mwh(forecaster.price_scale().0, &config.battery);
        let rows = inputs.values.len() / inputs.width.max(1);
        let k = forecaster.taus().len();
        let rolled = plan.rolling_prices(days, &config.battery, &rule, terminal)?;
        let h = plan.horizon;
        let (expected, terminals) = match rolled {
            Some(rolled) if !plan.reads_forecast() => (rolled.prices, rolled.terminals),
            rolled => {
                let mut expected = Vec::with_capacity(rows * h);
                forecaster.for_each_quantiles(&inputs.values, &mut |i, row| {
                    // As the agents' plan reads it.
                    let mpc = rolled.as_ref().map(|r| &r.prices[i * h..(i + 1) * h]);
                    expected.extend(plan.planned_prices(mpc, expected_prices(row, k)));
                })?;
                let terminals = rolled.map_or_else(|| vec![terminal; rows], |r| r.terminals);
                (expected, terminals)
            }
        };
        let mut policy = PlanPolicy {
            expected,
            terminals,
            day_row: inputs.day_row.clone(),
            plan: plan.clone(),
            battery: plan.planned_battery(&config.battery),
            space: config.actions,
            held: HeldPlan::default(),
            trees: forecaster.trees().is_some(),
        };
        if config.battery.cycles_per_day.is_some() {
            let mut best = (f64::NEG_INFINITY, plan.cycle_price_eur_per_mwh);
            for price in CYCLE_PRICES_TRIED {
                policy.set_cycle_price(&config.battery, price);
                let mut earned = 0.0;
                rollout(days, features, config, train, &mut policy, |s| {
                    earned += s.reward_eur
                })?;
                if earned > best.0 {
                    best = (earned, price);
                }
            }
            policy.set_cycle_price(&config.battery, best.1);
        }
        Ok(policy)
    }

    /// The cycle price the plan charges (EUR per MWh of cell throughput, under a cap).
    pub fn cycle_price_eur_per_mwh(&self) -> f64 {
        self.plan.cycle_price_eur_per_mwh
    }

    /// Charges `price` per MWh of cell throughput from now on (under `battery`'s cap): what the
    /// fit tries, for what-ifs.
    pub fn set_cycle_price(&mut self, battery: &BatteryConfig, price: f64) {
        self.plan.cycle_price_eur_per_mwh = price;
        self.battery = self.plan.planned_battery(battery);
        self.held = HeldPlan::default();
    }

    /// The plan's power fraction at decision `d`: full charge (-1), wait (0) or full discharge.
    fn fraction(&self, d: &Decision) -> f64 {
        let h = self.plan.horizon;
        let row = self.day_row[d.day_index] + d.qh;
        let prices = &self.expected[row * h..(row + 1) * h];
        let v = advantages(prices, &self.battery, self.terminals[row], &[d.soc_mwh]);
        match best_move(v[0], v[1]) {
            Move::Charge => -1.0,
            Move::Wait => 0.0,
            Move::Discharge => 1.0,
        }
    }
}

impl Policy for PlanPolicy {
    fn name(&self) -> String {
        let forecaster = if self.trees {
            "tree forecaster"
        } else {
            "forecaster"
        };
        let mut over = match self.plan.rolling_mpc_days {
            Some(n) => format!(", over the MPC refit daily on {n} days"),
            None if self.trees => format!(", over the {forecaster}"),
            None => String::new(),
        };
        if self.plan.rolling_mpc_days.is_some() && self.plan.reads_forecast() {
            let w = self.plan.rolling_mpc_weight;
            over += &format!(" (weight {w}) and the {forecaster}");
        }
        if self.plan.rolling_mpc_days.is_some() && self.plan.terminal_from_window {
            over += " and its value of stored energy";
        }
        let hurdle = match self.plan.hurdle_eur_per_mwh {
            h if h != 0.0 => format!(", hurdle {h}"),
            _ => String::new(),
        };
        match self.battery.cycles_per_day {
            Some(_) => format!(
                "plan(horizon {} QH, cycle price {}{hurdle}{over})",
                self.plan.horizon, self.plan.cycle_price_eur_per_mwh
            ),
            None => format!("plan(horizon {} QH{hurdle}{over})", self.plan.horizon),
        }
    }

    fn act(&mut self, d: &Decision) -> Action {
        let mut held = self.held;
        let f = held.get_or_plan(d, || self.fraction(d));
        self.held = held;
        action_for_fraction(self.space, f, d.mask)
    }
}
