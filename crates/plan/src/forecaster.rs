//! Either forecaster, as the agents, the plans and a run's saved file see it: the quantile MLP
//! (the default) or the gradient-boosted trees (`[forecast_features.trees]`). One type so that
//! fitting, saving, loading and predicting do not care which model a run chose, and a saved
//! file says which one it holds.

use crate::error::PlanError;
use crate::forecast::{stored_field, ForecastConfig, QuantileForecaster, QuantileModel};
use crate::gbdt::{GbdtConfig, GbdtForecaster, TreeSettings, MODEL_KEY};
use imbarb_nn::Checkpoint;
use imbarb_sim::{FeatureScaling, MarketDays, MarketFeatures, ObservationConfig};

/// A fitted forecaster of either model.
#[derive(Debug, Clone)]
pub enum Forecaster {
    /// The quantile MLP.
    Network(QuantileForecaster),
    /// The gradient-boosted trees.
    Trees(GbdtForecaster),
}

impl Forecaster {
    /// Fits the trees when `trees` gives their settings, else the quantile MLP, on `train`
    /// (indices into `days`) with `config`'s horizon, levels and features.
    pub fn fit(
        days: &MarketDays,
        train: &[usize],
        config: &ForecastConfig,
        trees: Option<&TreeSettings>,
    ) -> Result<Forecaster, PlanError> {
        Ok(match trees {
            Some(t) => Forecaster::Trees(GbdtForecaster::fit(
                days,
                train,
                &GbdtConfig {
                    base: config.clone(),
                    trees: t.clone(),
                },
            )?),
            None => Forecaster::Network(QuantileForecaster::fit(days, train, config)?),
        })
    }

    /// Its horizon, levels and features.
    pub fn config(&self) -> &ForecastConfig {
        match self {
            Forecaster::Network(f) => &f.config,
            Forecaster::Trees(f) => &f.config.base,
        }
    }

    /// The trees' settings (None for the MLP).
    pub fn trees(&self) -> Option<&TreeSettings> {
        match self {
            Forecaster::Network(_) => None,
            Forecaster::Trees(f) => Some(&f.config.trees),
        }
    }

    /// Mean and standard deviation (EUR/MWh) of its training targets.
    pub fn price_scale(&self) -> (f64, f64) {
        match self {
            Forecaster::Network(f) => f.price_scale,
            Forecaster::Trees(f) => f.price_scale,
        }
    }

    /// Its feature names.
    pub fn feature_names(&self) -> &[String] {
        match self {
            Forecaster::Network(f) => &f.feature_names,
            Forecaster::Trees(f) => &f.feature_names,
        }
    }

    /// How its features are normalised.
    pub fn scaling(&self) -> &FeatureScaling {
        match self {
            Forecaster::Network(f) => &f.scaling,
            Forecaster::Trees(f) => &f.scaling,
        }
    }

    /// Its saved form (`forecaster.safetensors` in a run).
    pub fn to_checkpoint(&self) -> Result<Checkpoint, PlanError> {
        match self {
            Forecaster::Network(f) => f.to_checkpoint(),
            Forecaster::Trees(f) => f.to_checkpoint(),
        }
    }

    /// Rebuilds a forecaster from its saved form, the trees when the file names them;
    /// `origin` names the file in errors.
    pub fn from_checkpoint(ck: &Checkpoint, origin: &str) -> Result<Forecaster, PlanError> {
        if ck.meta(MODEL_KEY).is_none() {
            return Ok(Forecaster::Network(QuantileForecaster::from_checkpoint(
                ck, origin,
            )?));
        }
        let model: String = stored_field(ck, origin, MODEL_KEY)?;
        match model.as_str() {
            "gbdt" => Ok(Forecaster::Trees(GbdtForecaster::from_checkpoint(
                ck, origin,
            )?)),
            other => Err(PlanError::Config(format!(
                "{origin}: {MODEL_KEY} = \"{other}\": not a forecaster this imbarb knows (\"gbdt\", or none for the quantile MLP)"
            ))),
        }
    }

    /// The model as a `QuantileModel`.
    fn model(&self) -> &dyn QuantileModel {
        match self {
            Forecaster::Network(f) => f,
            Forecaster::Trees(f) => f,
        }
    }
}

impl QuantileModel for Forecaster {
    fn horizon(&self) -> usize {
        self.model().horizon()
    }
    fn taus(&self) -> Vec<f64> {
        self.model().taus()
    }
    fn observation(&self) -> &ObservationConfig {
        self.model().observation()
    }
    fn features_for(&self, days: &MarketDays) -> Result<MarketFeatures, PlanError> {
        self.model().features_for(days)
    }
    fn for_each_quantiles(
        &self,
        x: &[f32],
        f: &mut dyn FnMut(usize, &[f64]),
    ) -> Result<(), PlanError> {
        self.model().for_each_quantiles(x, f)
    }
}
