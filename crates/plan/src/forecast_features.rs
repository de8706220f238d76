//! The forecaster's quantiles as observation features for the agents (the planner-guided
//! observation of arXiv 2510.04868): at each quarter-hour's start, chosen quantiles of the next
//! prices, from a forecaster fitted on the run's training days only. They are causal because the
//! forecaster reads only published prices (its features are the agents' own, covered by the
//! look-ahead test), and they are computed once for every day of a setup, so training pays for
//! them once rather than at every step.

use crate::error::PlanError;
use crate::forecast::{expected_prices, ForecastConfig, QuantileModel};
use crate::forecaster::Forecaster;
use crate::gbdt::TreeSettings;
use crate::plan_columns::PlanColumns;
use imbarb_sim::{
    components_in, decision_features, normalise, BatteryConfig, Granularity, MarketDays,
    MarketFeatures,
};
use serde::{Deserialize, Serialize};

/// Which forecast quantiles an agent observes, and the forecaster that makes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastFeatures {
    /// Quantile levels shown, each one of the forecaster's levels (`k / (quantiles + 1)`).
    pub levels: Vec<f64>,
    /// Quarter-hours shown, the current one first (at most the forecaster's horizon).
    pub horizon: usize,
    /// The forecaster, fitted on the run's training days (its own last days choose its step).
    pub forecaster: ForecastConfig,
    /// Gradient-boosted trees instead of the quantile MLP (`[forecast_features.trees]`; the
    /// MLP's own settings under `forecaster` are then unused): their settings.
    pub trees: Option<TreeSettings>,
    /// The planner's columns over the forecaster's expected prices (`[forecast_features.plan]`;
    /// none when absent).
    pub plan: Option<PlanColumns>,
}

impl Default for ForecastFeatures {
    fn default() -> Self {
        ForecastFeatures {
            levels: vec![0.1, 0.5, 0.9],
            horizon: 8,
            forecaster: ForecastConfig::default(),
            trees: None,
            plan: None,
        }
    }
}

impl ForecastFeatures {
    /// Checks the settings; the error names the key under `forecast_features`.
    pub fn check(&self) -> Result<(), PlanError> {
        // The forecaster's own checks name its keys `forecast.*`; here they sit under
        // `forecast_features.forecaster`.
        self.forecaster.check().map_err(|e| {
            PlanError::Config(format!(
                "forecast_features.{}",
                e.to_string().replacen("forecast.", "forecaster.", 1)
            ))
        })?;
        if !(1..=self.forecaster.horizon).contains(&self.horizon) {
            return Err(PlanError::Config(format!(
                "forecast_features.horizon = {}: expected 1..={} (the forecaster's horizon)",
                self.horizon, self.forecaster.horizon
            )));
        }
        if self.levels.is_empty() {
            return Err(PlanError::Config(
                "forecast_features.levels: expected at least one quantile level".into(),
            ));
        }
        if let Some(trees) = &self.trees {
            trees
                .check()
                .map_err(|e| PlanError::Config(format!("forecast_features.{e}")))?;
        }
        if let Some(plan) = &self.plan {
            plan.check(self.forecaster.horizon)?;
        }
        self.level_indices().map(|_| ())
    }

    /// The index of each shown level among the forecaster's levels.
    fn level_indices(&self) -> Result<Vec<usize>, PlanError> {
        let taus = self.forecaster.taus();
        self.levels
            .iter()
            .map(|&l| {
                taus.iter().position(|t| (t - l).abs() < 1e-9).ok_or_else(|| {
                    PlanError::Config(format!(
                        "forecast_features.levels: {l} is not one of the forecaster's {} levels (k / {} for k = 1..={})",
                        taus.len(),
                        taus.len() + 1,
                        taus.len()
                    ))
                })
            })
            .collect()
    }

    /// Number of columns these features add.
    pub fn width(&self) -> usize {
        self.levels.len() * self.horizon + self.plan.as_ref().map_or(0, PlanColumns::width)
    }

    /// Column names: `forecast_qh{t}_p{level in %}`, quarter-hour by quarter-hour, then the
    /// planner's columns (`plan_soc{percent}_{charge|discharge}`) when there are any.
    pub fn names(&self, battery: &BatteryConfig) -> Result<Vec<String>, PlanError> {
        let mut names: Vec<String> = (0..self.horizon)
            .flat_map(|t| {
                self.levels
                    .iter()
                    .map(move |l| format!("forecast_qh{t}_p{:02}", (l * 100.0).round() as u32))
            })
            .collect();
        if let Some(plan) = &self.plan {
            names.extend(plan.names(battery)?);
        }
        Ok(names)
    }

    /// Fits the forecaster these features read on `train` (indices into `days`).
    pub fn fit(&self, days: &MarketDays, train: &[usize]) -> Result<Forecaster, PlanError> {
        self.check()?;
        Forecaster::fit(days, train, &self.forecaster, self.trees.as_ref())
    }

    /// Appends the forecast columns to `features` (quarter-hour decisions on `days`), each
    /// normalised by the forecaster's price scale, and the planner's for `battery`.
    pub fn append(
        &self,
        forecaster: &Forecaster,
        days: &MarketDays,
        battery: &BatteryConfig,
        features: &mut MarketFeatures,
    ) -> Result<(), PlanError> {
        self.check_forecaster(forecaster)?;
        if features.decisions_per_qh != 1 {
            return Err(PlanError::Config(
                "forecast_features: forecasts are made per quarter-hour; use quarter-hour decisions (env.granularity = \"qh\")".into(),
            ));
        }
        let names = self.names(battery)?;
        let inputs = forecaster.features_for(days)?;
        let levels = self.level_indices()?;
        let mut values =
            Vec::with_capacity(features.values.len() / features.width.max(1) * self.width());
        let rolled = match &self.plan {
            Some(plan) => plan.rolling_prices(
                days,
                battery,
                &self.day_ahead_rule(forecaster),
                self.terminal(forecaster, battery),
            )?,
            None => None,
        };
        let h = self.plan.as_ref().map_or(0, |p| p.horizon);
        let rows = inputs.values.len() / inputs.width.max(1);
        if let Some(p) = &rolled {
            if p.prices.len() != rows * h || p.terminals.len() != rows {
                return Err(PlanError::Config(format!(
                    "forecast_features.plan.rolling_mpc_days: {} planned prices and {} values of stored energy for {rows} quarter-hours of {h}",
                    p.prices.len(),
                    p.terminals.len()
                )));
            }
        }
        forecaster.for_each_quantiles(&inputs.values, &mut |i, row| {
            let planned = rolled
                .as_ref()
                .map(|p| (&p.prices[i * h..(i + 1) * h], p.terminals[i]));
            self.select(forecaster, &levels, battery, row, planned, &mut values)
        })?;
        let (mean, std) = self.scales(forecaster, battery);
        features.append_columns(names, &values, mean, std)?;
        Ok(())
    }

    /// The forecast columns of one decision, at quarter-hour grid index `g` of `date`: what
    /// `append` gives the same quarter-hour (a deployed run's view, one decision at a time).
    pub fn decision(
        &self,
        forecaster: &Forecaster,
        days: &MarketDays,
        battery: &BatteryConfig,
        date: chrono::NaiveDate,
        g: usize,
    ) -> Result<Vec<f32>, PlanError> {
        self.check_forecaster(forecaster)?;
        let x = decision_features(
            days,
            forecaster.observation(),
            Granularity::Qh,
            &components_in(forecaster.feature_names()),
            forecaster.scaling(),
            date,
            g,
            0,
        );
        let mut out = vec![];
        forecaster.for_each_quantiles(&x, &mut |_, row| out = row.to_vec())?;
        let rolled = match &self.plan {
            Some(plan) => plan.rolling_prices_at(
                days,
                battery,
                &self.day_ahead_rule(forecaster),
                self.terminal(forecaster, battery),
                date,
                g,
            )?,
            None => None,
        };
        let mut values = Vec::with_capacity(self.width());
        self.select(
            forecaster,
            &self.level_indices()?,
            battery,
            &out,
            rolled.as_ref().map(|(p, t)| (p.as_slice(), *t)),
            &mut values,
        );
        Ok(values)
    }

    /// The plan's value of stored energy from the forecaster's mean training price (0 without
    /// a plan).
    fn terminal(&self, forecaster: &Forecaster, battery: &BatteryConfig) -> f64 {
        self.plan.as_ref().map_or(0.0, |p| {
            p.terminal_eur_per_mwh(forecaster.price_scale().0, battery)
        })
    }

    /// When the day-ahead curve is public, as the forecaster reads it (the plan's rolling MPC
    /// reads it by the same rule).
    fn day_ahead_rule(&self, forecaster: &Forecaster) -> imbarb_sim::DayAheadRule {
        forecaster
            .observation()
            .day_ahead_rule()
            .unwrap_or_default()
    }

    /// Days of complete prices before a decision the columns read: the plan's rolling MPC
    /// window (0 without one; the forecaster's lags are the run's own concern).
    pub fn history_days(&self) -> u32 {
        self.plan
            .as_ref()
            .and_then(|p| p.rolling_mpc_days)
            .unwrap_or(0)
    }

    /// True when `forecaster` is the model these features name, fitted with their settings.
    pub fn made(&self, forecaster: &Forecaster) -> bool {
        *forecaster.config() == self.forecaster && forecaster.trees() == self.trees.as_ref()
    }

    /// Refuses a forecaster made with other settings than these features name.
    fn check_forecaster(&self, forecaster: &Forecaster) -> Result<(), PlanError> {
        if !self.made(forecaster) {
            return Err(PlanError::Config(
                "forecast_features.forecaster (or .trees): the run's forecaster was fitted with other settings than its config names".into(),
            ));
        }
        Ok(())
    }

    /// The normalisation of each column (mean, scale): the forecaster's price scale for the
    /// quantiles, zero and `PlanColumns::scale` for the planner's.
    fn scales(&self, forecaster: &Forecaster, battery: &BatteryConfig) -> (Vec<f64>, Vec<f64>) {
        let (mean, std) = forecaster.price_scale();
        let quantiles = self.levels.len() * self.horizon;
        let planned = self.width() - quantiles;
        let plan_scale = PlanColumns::scale(battery, std);
        let means = [vec![mean; quantiles], vec![0.0; planned]].concat();
        let stds = [vec![std; quantiles], vec![plan_scale; planned]].concat();
        (means, stds)
    }

    /// Appends the chosen (quarter-hour, level) quantiles of one predicted row, normalised,
    /// then the planner's columns over `planned` prices and value of stored energy (the rolling
    /// MPC's forecast, weighed with the row's expected prices by the plan's
    /// `rolling_mpc_weight`) or, without them, the row's expected prices (the mean of its
    /// quantiles) and the training mean's value.
    fn select(
        &self,
        forecaster: &Forecaster,
        levels: &[usize],
        battery: &BatteryConfig,
        row: &[f64],
        planned: Option<(&[f64], f64)>,
        values: &mut Vec<f32>,
    ) {
        let k = forecaster.config().quantiles;
        let (mean, std) = forecaster.price_scale();
        for t in 0..self.horizon {
            for &l in levels {
                values.push(normalise(row[t * k + l], mean, std));
            }
        }
        if let Some(plan) = &self.plan {
            let terminal = planned.map_or(plan.terminal_eur_per_mwh(mean, battery), |p| p.1);
            let expected = plan.planned_prices(planned.map(|p| p.0), expected_prices(row, k));
            let scale = PlanColumns::scale(battery, std);
            plan.push(&expected, battery, terminal, scale, values);
        }
    }
}
