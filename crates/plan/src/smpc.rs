//! The stochastic MPC: at every quarter-hour, draw joint price paths for the next `horizon`
//! quarter-hours from the probabilistic forecaster, and solve one two-stage LP over all of
//! them: a single first action (non-anticipative: it is taken before any path reveals itself)
//! followed by a recourse plan per path, under the battery model and the cycle budget left today
//! (tomorrow's steps get a fresh budget), with the energy left at the horizon valued at the
//! training mean price. The first action is applied; the plan is redone next quarter-hour.
//! The forecaster is the quantile MLP, or with `trees` its gradient-boosted baseline.

use crate::error::PlanError;
use crate::forecast::{rows, ForecastConfig, QuantileModel};
use crate::forecaster::Forecaster;
use crate::gbdt::TreeSettings;
use crate::scenarios::ScenarioGenerator;
use good_lp::{variable, Expression, ProblemVariables, Solution, SolverModel, Variable};
use imbarb_baselines::lp::solver;
use imbarb_baselines::mpc::mean_training_price;
use imbarb_sim::actions::mw_to_fraction;
use imbarb_sim::{
    action_for_fraction, Action, ActionSpace, BatteryConfig, Decision, HeldPlan, MarketDays,
    MarketFeatures, Policy,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The planner's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmpcConfig {
    /// Price paths per decision.
    pub scenarios: usize,
    /// Seed of the paths (each decision draws from its own stream of it).
    pub seed: u64,
    /// The forecaster.
    pub forecast: ForecastConfig,
    /// Forecast with gradient-boosted trees (`gbdt`, its default settings, reading `forecast`'s
    /// horizon, levels and features) instead of the quantile MLP.
    pub trees: bool,
}

impl Default for SmpcConfig {
    fn default() -> Self {
        SmpcConfig {
            scenarios: 50,
            seed: 0,
            forecast: ForecastConfig::default(),
            trees: false,
        }
    }
}

/// One two-stage plan: the first action and the plan's expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstAction {
    /// Grid power of the first quarter-hour, MW (> 0 discharge).
    pub power_mw: f64,
    /// Expected profit over the horizon plus the terminal value, EUR.
    pub expected_eur: f64,
}

/// The cycle budgets a plan sees: cell throughput left today, and a whole day's for the steps
/// after midnight (infinite without a cap).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budgets {
    /// Steps (from the first) that belong to today.
    pub today_steps: usize,
    /// Cell throughput left today, MWh.
    pub today_mwh: f64,
    /// A whole day's cell throughput, MWh.
    pub day_mwh: f64,
}

/// Solves the two-stage LP over `paths` (row-major `scenarios x horizon`, EUR/MWh, single
/// prices) from `soc_mwh`, valuing the cell energy left at the horizon at `terminal_eur_per_mwh`.
pub fn two_stage(
    paths: &[f64],
    horizon: usize,
    battery: &BatteryConfig,
    soc_mwh: f64,
    budgets: Budgets,
    terminal_eur_per_mwh: f64,
) -> Result<FirstAction, PlanError> {
    let s_count = paths.len() / horizon.max(1);
    if s_count == 0 || horizon == 0 || paths.len() != s_count * horizon {
        return Err(PlanError::Config(format!(
            "two_stage: {} path values for horizon {horizon}",
            paths.len()
        )));
    }
    let dt = 0.25;
    let (cell_in, cell_out) = battery.cell_per_grid_mwh();
    let deg = battery.degradation_eur_per_mwh;
    let (c_max, d_max) = (
        battery.charge_power_mw * dt,
        battery.discharge_power_mw * dt,
    );
    let (s_min, s_max) = (battery.soc_min_mwh(), battery.soc_max_mwh());
    let mut vars = ProblemVariables::new();
    let c0 = vars.add(variable().min(0.0).max(c_max));
    let d0 = vars.add(variable().min(0.0).max(d_max));
    let soc0 = vars.add(variable().min(s_min).max(s_max));
    let rest = horizon - 1;
    let mut c: Vec<Vec<Variable>> = Vec::with_capacity(s_count);
    let mut d: Vec<Vec<Variable>> = Vec::with_capacity(s_count);
    let mut soc: Vec<Vec<Variable>> = Vec::with_capacity(s_count);
    for _ in 0..s_count {
        c.push(vars.add_vector(variable().min(0.0).max(c_max), rest));
        d.push(vars.add_vector(variable().min(0.0).max(d_max), rest));
        soc.push(vars.add_vector(variable().min(s_min).max(s_max), rest));
    }
    let w = 1.0 / s_count as f64;
    let mean_first = (0..s_count).map(|s| paths[s * horizon]).sum::<f64>() * w;
    let mut objective = Expression::with_capacity(2 + s_count * (2 * rest + 1));
    objective.add_mul(mean_first - deg * cell_out, d0);
    objective.add_mul(-mean_first - deg * cell_in, c0);
    for s in 0..s_count {
        for t in 0..rest {
            let p = paths[s * horizon + t + 1];
            objective.add_mul(w * (p - deg * cell_out), d[s][t]);
            objective.add_mul(w * (-p - deg * cell_in), c[s][t]);
        }
        let last = if rest == 0 { soc0 } else { soc[s][rest - 1] };
        objective.add_mul(w * terminal_eur_per_mwh, last);
    }
    let mut model = vars.maximise(objective).using(solver);
    model = model.with((soc0 - soc_mwh - cell_in * c0 + cell_out * d0).eq(0.0));
    let first_cell: Expression = cell_in * c0 + cell_out * d0;
    for s in 0..s_count {
        let mut today: Expression = first_cell.clone();
        let mut tomorrow = Expression::with_capacity(2 * rest);
        let mut prev = soc0;
        for t in 0..rest {
            model = model.with((soc[s][t] - prev - cell_in * c[s][t] + cell_out * d[s][t]).eq(0.0));
            prev = soc[s][t];
            let step = t + 1;
            let target = if step < budgets.today_steps {
                &mut today
            } else {
                &mut tomorrow
            };
            target.add_mul(cell_in, c[s][t]);
            target.add_mul(cell_out, d[s][t]);
        }
        if budgets.today_mwh.is_finite() {
            model = model.with(today.leq(budgets.today_mwh.max(0.0)));
        }
        if budgets.day_mwh.is_finite() && rest >= budgets.today_steps {
            model = model.with(tomorrow.leq(budgets.day_mwh));
        }
    }
    let solution = model
        .solve()
        .map_err(|e| PlanError::Solver(e.to_string()))?;
    let (cv, dv) = (solution.value(c0).max(0.0), solution.value(d0).max(0.0));
    // The objective's value, recomputed from the solution (good_lp does not return it).
    let mut expected = mean_first * (dv - cv) - deg * (cell_in * cv + cell_out * dv);
    for s in 0..s_count {
        let mut v = 0.0;
        for t in 0..rest {
            let p = paths[s * horizon + t + 1];
            let (ct, dt_) = (solution.value(c[s][t]), solution.value(d[s][t]));
            v += p * (dt_ - ct) - deg * (cell_in * ct + cell_out * dt_);
        }
        let last = if rest == 0 {
            solution.value(soc0)
        } else {
            solution.value(soc[s][rest - 1])
        };
        expected += w * (v + terminal_eur_per_mwh * last);
    }
    Ok(FirstAction {
        power_mw: (dv - cv) / dt,
        expected_eur: expected,
    })
}

/// The stochastic MPC policy (see the module doc).
pub struct StochasticMpc {
    /// The forecaster.
    pub forecaster: Forecaster,
    /// Its paths.
    pub generator: ScenarioGenerator,
    /// Its features on the days it decides on.
    features: MarketFeatures,
    /// The battery.
    pub battery: BatteryConfig,
    /// The action space to answer in.
    pub space: ActionSpace,
    /// Value per MWh of cell energy at the horizon (training mean price x discharge efficiency).
    pub terminal_eur_per_mwh: f64,
    /// Settings.
    pub config: SmpcConfig,
    held: HeldPlan,
    quantiles: Vec<f64>,
    paths: Vec<f64>,
}

impl StochasticMpc {
    /// Trains the forecaster on `train` (its validation: the last training days), fits the
    /// copula on the training days, and prepares to decide on any day of `days`.
    pub fn fit(
        days: &MarketDays,
        train: &[usize],
        battery: BatteryConfig,
        space: ActionSpace,
        config: &SmpcConfig,
    ) -> Result<StochasticMpc, PlanError> {
        if config.scenarios == 0 || config.scenarios > 1000 {
            return Err(PlanError::Config(
                "smpc.scenarios: expected 1..=1000 paths".into(),
            ));
        }
        let trees = config.trees.then(TreeSettings::default);
        let forecaster = Forecaster::fit(days, train, &config.forecast, trees.as_ref())?;
        let features = forecaster.features_for(days)?;
        let train_rows = rows(days, &features, train, config.forecast.horizon);
        let generator = ScenarioGenerator::fit(&forecaster, &train_rows)?;
        Ok(StochasticMpc {
            terminal_eur_per_mwh: mean_training_price(days, train) * battery.discharge_efficiency,
            forecaster,
            generator,
            features,
            battery,
            space,
            config: config.clone(),
            held: HeldPlan::default(),
            quantiles: vec![],
            paths: vec![],
        })
    }

    /// Decides on `days` from now on (the forecaster's features rebuilt there with its own
    /// training statistics): the same fitted planner on other or newer data.
    pub fn decide_on(&mut self, days: &MarketDays) -> Result<(), PlanError> {
        self.features = self.forecaster.features_for(days)?;
        self.held.clear();
        Ok(())
    }

    /// The plan at a decision: its first action and expected value.
    pub fn plan(&mut self, d: &Decision) -> Result<FirstAction, PlanError> {
        let row = self.features.row(d.day_index, d.qh);
        let quantiles = &mut self.quantiles;
        self.forecaster.for_each_quantiles(row, &mut |_, q| {
            quantiles.clear();
            quantiles.extend_from_slice(q);
        })?;
        // Each decision its own stream: the same decision draws the same paths in any run.
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream((d.day_index as u64) << 8 | d.qh as u64);
        self.generator.sample(
            &self.quantiles,
            self.config.scenarios,
            &mut rng,
            &mut self.paths,
        );
        let budget = self.battery.daily_throughput_budget_mwh();
        let used = d.cycles_used * 2.0 * self.battery.energy_mwh;
        two_stage(
            &self.paths,
            self.generator.horizon,
            &self.battery,
            d.soc_mwh,
            Budgets {
                today_steps: d.n_qh - d.qh,
                today_mwh: budget - used,
                day_mwh: budget,
            },
            self.terminal_eur_per_mwh,
        )
    }
}

impl Policy for StochasticMpc {
    fn name(&self) -> String {
        let seed = match self.config.seed {
            0 => String::new(),
            s => format!(", seed {s}"),
        };
        let trees = if self.config.trees { ", trees" } else { "" };
        format!(
            "smpc({} paths, horizon {} QH{trees}{seed})",
            self.config.scenarios, self.generator.horizon
        )
    }

    fn act(&mut self, d: &Decision) -> Action {
        let mut held = self.held;
        // A failed solve idles (and is rare: the LP is always feasible at rest).
        let f = held.get_or_plan(d, || {
            self.plan(d)
                .map_or(0.0, |p| mw_to_fraction(&self.battery, p.power_mw))
        });
        self.held = held;
        action_for_fraction(self.space, f, d.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imbarb_baselines::lp::solve_prices;

    fn battery(cap: Option<f64>) -> BatteryConfig {
        BatteryConfig {
            cycles_per_day: cap,
            ..BatteryConfig::default()
        }
    }

    #[test]
    fn one_path_is_the_deterministic_lp() {
        let path = [40.0, 10.0, 5.0, 90.0, 120.0, 30.0, -20.0, 200.0];
        for cap in [None, Some(0.5)] {
            let b = battery(cap);
            let budget = b.daily_throughput_budget_mwh();
            let budgets = Budgets {
                today_steps: 5,
                today_mwh: budget * 0.6,
                day_mwh: budget,
            };
            let plan = two_stage(&path, 8, &b, 1.0, budgets, 45.0).unwrap();
            let blocks = vec![
                path[..5].iter().map(|p| (*p, *p)).collect::<Vec<_>>(),
                path[5..].iter().map(|p| (*p, *p)).collect(),
            ];
            let lp = solve_prices(&blocks, &[budget * 0.6, budget], &b, 1.0, 0.25, 45.0).unwrap();
            let lp_value = lp.total_eur() + 45.0 * lp.end_soc_mwh[1];
            assert!((plan.expected_eur - lp_value).abs() < 1e-4, "cap {cap:?}");
        }
    }

    #[test]
    fn the_plan_is_worth_no_more_than_perfect_information() {
        // The value of deciding before the path is known is at most the mean of the optima with
        // each path known (and at least what idling first then optimising each path earns).
        let paths = [
            50.0, 60.0, 300.0, 20.0, //
            50.0, 40.0, -50.0, 10.0, //
            50.0, 55.0, 80.0, 250.0,
        ];
        let b = battery(None);
        let budgets = Budgets {
            today_steps: 4,
            today_mwh: f64::INFINITY,
            day_mwh: f64::INFINITY,
        };
        let plan = two_stage(&paths, 4, &b, 1.0, budgets, 60.0).unwrap();
        let known: f64 = paths
            .chunks(4)
            .map(|p| {
                let block = vec![p.iter().map(|x| (*x, *x)).collect::<Vec<_>>()];
                let s = solve_prices(&block, &[f64::INFINITY], &b, 1.0, 0.25, 60.0).unwrap();
                s.total_eur() + 60.0 * s.end_soc_mwh[0]
            })
            .sum::<f64>()
            / 3.0;
        assert!(plan.expected_eur <= known + 1e-6);
        let idle_first: f64 = paths
            .chunks(4)
            .map(|p| {
                let block = vec![p[1..].iter().map(|x| (*x, *x)).collect::<Vec<_>>()];
                let s = solve_prices(&block, &[f64::INFINITY], &b, 1.0, 0.25, 60.0).unwrap();
                s.total_eur() + 60.0 * s.end_soc_mwh[0]
            })
            .sum::<f64>()
            / 3.0;
        assert!(plan.expected_eur >= idle_first - 1e-6);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let b = battery(None);
        let budgets = Budgets {
            today_steps: 4,
            today_mwh: f64::INFINITY,
            day_mwh: f64::INFINITY,
        };
        assert!(two_stage(&[1.0, 2.0, 3.0], 2, &b, 1.0, budgets, 0.0).is_err());
        assert!(two_stage(&[], 2, &b, 1.0, budgets, 0.0).is_err());
    }
}
