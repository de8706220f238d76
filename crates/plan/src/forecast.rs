//! The probabilistic price forecaster: from the features an agent sees at a quarter-hour's start
//! (published prices only), the quantiles of the next `horizon` final prices (the current
//! quarter-hour first). A quantile MLP on imbarb-nn trained on the pinball loss; its quantiles
//! never cross (the network outputs the lowest quantile and positive increments). The training
//! step with the lowest validation loss is kept; validation days are the last training days, so
//! nothing is chosen on test days.

use crate::error::PlanError;
use imbarb_nn::{Adam, AdamConfig, Checkpoint, Mlp, MlpCache, MlpConfig};
use imbarb_sim::{
    components_in, profile_from_stored, profile_to_stored, FeatureScaling, Granularity, MarketDays,
    MarketFeatures, ObservationConfig,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How the forecaster is built and trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// Quarter-hours forecast (the current one first).
    pub horizon: usize,
    /// Quantile levels: `k / (quantiles + 1)` for k = 1..=quantiles (19: every 5 %).
    pub quantiles: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Gradient steps.
    pub steps: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Validate (and keep the best network) every this many steps.
    pub validate_every: usize,
    /// Share of the training days, the last ones, held out to choose the training step.
    pub validation_share: f64,
    /// Seed of the weights and the minibatches.
    pub seed: u64,
    /// The features read (the shipped agents' observation by default).
    pub observation: ObservationConfig,
    /// Where every training day has a complete day-ahead curve and `observation` reads none:
    /// also try reading the curve over the forecast horizon (as published by each decision
    /// time; the training mean where unknown, with a column saying so) and the recent spread
    /// between imbalance and day-ahead prices over 1 and 24 hours, kept when it lowers the
    /// validation loss. Training days without the curve turn it off: learnt from placeholders,
    /// the curve made forecasts far worse (measured on post-MARI prices fitted on pre-MARI
    /// history).
    pub day_ahead: bool,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            horizon: 16,
            quantiles: 19,
            hidden: vec![128, 64],
            steps: 12_000,
            batch_size: 256,
            lr: 1e-3,
            validate_every: 1_000,
            validation_share: 0.15,
            seed: 0,
            day_ahead: true,
            observation: ObservationConfig {
                time_of_day: true,
                weekday: false,
                month: false,
                last_prices: 8,
                component_lags: 0,
                rolling_windows: vec![4, 16],
                profile_ahead: 32,
                ..ObservationConfig::default()
            },
        }
    }
}

impl ForecastConfig {
    /// Checks every setting; the error names it.
    pub fn check(&self) -> Result<(), PlanError> {
        let bad = |what: &str| Err(PlanError::Config(what.to_string()));
        if !(1..=96).contains(&self.horizon) {
            return bad("forecast.horizon: expected 1..=96 quarter-hours");
        }
        if !(1..=99).contains(&self.quantiles) {
            return bad("forecast.quantiles: expected 1..=99 levels");
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad("forecast.hidden: expected one or more positive widths");
        }
        if self.batch_size == 0 || self.validate_every == 0 || self.steps == 0 {
            return bad(
                "forecast.steps, forecast.batch_size and forecast.validate_every: expected at least 1",
            );
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return bad("forecast.lr: expected a rate in (0, 1)");
        }
        if !(0.0..0.9).contains(&self.validation_share) {
            return bad("forecast.validation_share: expected a share in [0, 0.9)");
        }
        self.observation
            .check()
            .map_err(|e| PlanError::Config(format!("forecast.observation: {e}")))
    }

    /// The features read when fitted on `train` (indices into `days`): `observation`, with the
    /// day-ahead curve added where `day_ahead` asks for it and every training day has one.
    pub fn observation_on(&self, days: &MarketDays, train: &[usize]) -> ObservationConfig {
        let mut o = self.observation.clone();
        let curve_on_every_day = !train.is_empty()
            && train
                .iter()
                .all(|&d| days.has_day_ahead_curve(&days.days[d]));
        if self.day_ahead && curve_on_every_day && !o.uses_day_ahead() {
            o.day_ahead = self.horizon;
            o.day_ahead_spread = vec![4, 96];
            o.day_ahead_missing = imbarb_sim::DayAheadMissing::Mean;
        }
        o
    }

    /// `fit(observation)` at `observation_on` its training days and, when that reads the
    /// day-ahead curve `observation` does not, also at `observation`: the fit with the lower
    /// held-out `loss` is kept (a tie keeps the one without the curve). Either forecaster's
    /// choice of whether to read the curve.
    pub fn fit_best_reading<T>(
        &self,
        days: &MarketDays,
        train: &[usize],
        fit: impl Fn(ObservationConfig) -> Result<T, PlanError>,
        loss: impl Fn(&T) -> f64,
    ) -> Result<T, PlanError> {
        let reading = self.observation_on(days, train);
        if reading == self.observation {
            return fit(reading);
        }
        let with = fit(reading)?;
        let without = fit(self.observation.clone())?;
        Ok(if loss(&with) < loss(&without) {
            with
        } else {
            without
        })
    }

    /// `train` (chronological) split into the days fitted on and the last `validation_share` of
    /// them, held out to choose the training step (at least one day is fitted on).
    pub fn split_training<'a>(&self, train: &'a [usize]) -> (&'a [usize], &'a [usize]) {
        let held = ((train.len() as f64) * self.validation_share).round() as usize;
        train.split_at(train.len() - held.min(train.len().saturating_sub(1)))
    }

    /// The quantile levels.
    pub fn taus(&self) -> Vec<f64> {
        (1..=self.quantiles)
            .map(|k| k as f64 / (self.quantiles + 1) as f64)
            .collect()
    }
}

/// Decision rows of some days: features (`width` per row) and the next `horizon` prices.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Features, row-major.
    pub x: Vec<f32>,
    /// Prices, EUR/MWh, `horizon` per row.
    pub y: Vec<f64>,
    /// (day index, quarter-hour) of each row.
    pub at: Vec<(usize, usize)>,
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

/// Every quarter-hour start of `day_indices` whose next `horizon` prices are all published in
/// the data (the last hours of the data's last day have none).
pub fn rows(
    days: &MarketDays,
    features: &MarketFeatures,
    day_indices: &[usize],
    horizon: usize,
) -> Rows {
    let mut out = Rows::default();
    for &d in day_indices {
        let day = &days.days[d];
        for q in 0..day.n_qh() {
            let g = day.grid_offset + q;
            let Some(next) = days.grid_price.get(g..g + horizon) else {
                continue;
            };
            if next.iter().any(|p| p.is_nan()) {
                continue;
            }
            out.x.extend_from_slice(features.row(d, q));
            out.y.extend_from_slice(next);
            out.at.push((d, q));
        }
    }
    out
}

/// What scoring a probabilistic forecaster and writing its quantiles need, whatever its model
/// (the quantile MLP here, gradient-boosted trees in `gbdt`): one interface so both are scored
/// by the same code on the same rows.
pub trait QuantileModel {
    /// Quarter-hours forecast (the current one first).
    fn horizon(&self) -> usize;
    /// The quantile levels, ascending.
    fn taus(&self) -> Vec<f64>;
    /// The features it reads.
    fn observation(&self) -> &ObservationConfig;
    /// Its features on `days` (normalised with its own training statistics).
    fn features_for(&self, days: &MarketDays) -> Result<MarketFeatures, PlanError>;
    /// Calls `f(row, quantiles)` for every row of `x` (its features, row-major), `quantiles`
    /// being that row's `horizon x levels` EUR/MWh, ascending within each horizon.
    fn for_each_quantiles(
        &self,
        x: &[f32],
        f: &mut dyn FnMut(usize, &[f64]),
    ) -> Result<(), PlanError>;
}

impl QuantileModel for QuantileForecaster {
    fn horizon(&self) -> usize {
        self.config.horizon
    }
    fn taus(&self) -> Vec<f64> {
        self.config.taus()
    }
    fn observation(&self) -> &ObservationConfig {
        &self.observation
    }
    fn features_for(&self, days: &MarketDays) -> Result<MarketFeatures, PlanError> {
        QuantileForecaster::features_for(self, days)
    }
    fn for_each_quantiles(
        &self,
        x: &[f32],
        f: &mut dyn FnMut(usize, &[f64]),
    ) -> Result<(), PlanError> {
        self.for_each_prediction(x, f);
        Ok(())
    }
}

/// The expected price of each quarter-hour of one predicted row (`horizon x levels`, as
/// `QuantileModel::for_each_quantiles` gives it, `levels` per quarter-hour): the mean of its
/// quantiles, the current quarter-hour first. What the deterministic plan plans over.
pub fn expected_prices(row: &[f64], levels: usize) -> impl Iterator<Item = f64> + '_ {
    row.chunks(levels)
        .map(move |q| q.iter().sum::<f64>() / levels as f64)
}

/// Mean pinball loss (EUR/MWh) of quantiles `q` at levels `taus` for outcome `y`.
pub fn pinball(taus: &[f64], q: &[f64], y: f64) -> f64 {
    let total: f64 = taus
        .iter()
        .zip(q)
        .map(|(t, q)| {
            if y < *q {
                (1.0 - t) * (q - y)
            } else {
                t * (y - q)
            }
        })
        .sum();
    total / taus.len() as f64
}

/// Mean and (population) standard deviation of training target prices `y`, the standard
/// deviation at least 1e-6: either forecaster's `price_scale`.
pub(crate) fn price_scale_of(y: &[f64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt().max(1e-6))
}

/// `v` as JSON (f64 kept exactly), for a saved forecaster's metadata.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String, PlanError> {
    serde_json::to_string(v).map_err(|e| PlanError::Config(format!("forecaster: {e}")))
}

/// A saved forecaster's metadata entry `key`, parsed; `origin` names the file in errors.
pub(crate) fn stored_field<T: serde::de::DeserializeOwned>(
    ck: &Checkpoint,
    origin: &str,
    key: &str,
) -> Result<T, PlanError> {
    let text = ck
        .meta(key)
        .ok_or_else(|| PlanError::Config(format!("{origin}: no `{key}`: not a forecaster")))?;
    serde_json::from_str(text).map_err(|e| PlanError::Config(format!("{origin}: {key}: {e}")))
}

/// Either forecaster's features on `days`: what it reads (`observation`, the system components
/// among `names`), normalised with its own training statistics.
pub(crate) fn features_on(
    days: &MarketDays,
    observation: &ObservationConfig,
    names: &[String],
    scaling: &FeatureScaling,
) -> Result<MarketFeatures, PlanError> {
    Ok(MarketFeatures::build_scaled(
        days,
        observation,
        Granularity::Qh,
        &components_in(names),
        scaling,
    )?)
}

/// Writes what either forecaster needs to rebuild its features on new days: its settings,
/// the features read, their names and normalisation (profile included).
pub(crate) fn write_reading(
    ck: &mut Checkpoint,
    config: &ForecastConfig,
    observation: &ObservationConfig,
    feature_names: &[String],
    scaling: &FeatureScaling,
) -> Result<(), PlanError> {
    ck.set_meta("forecast.config", to_json(config)?);
    ck.set_meta("forecast.observation", to_json(observation)?);
    ck.set_meta("forecast.feature_names", to_json(feature_names)?);
    ck.set_meta("forecast.feature_mean", to_json(&scaling.mean)?);
    ck.set_meta("forecast.feature_std", to_json(&scaling.std)?);
    let profile = profile_to_stored(&scaling.profile);
    ck.set_meta("forecast.profile", to_json(&profile)?);
    Ok(())
}

/// What `write_reading` wrote, checked: the settings, the features read, their names and
/// normalisation.
pub(crate) fn read_reading(
    ck: &Checkpoint,
    origin: &str,
) -> Result<
    (
        ForecastConfig,
        ObservationConfig,
        Vec<String>,
        FeatureScaling,
    ),
    PlanError,
> {
    let config: ForecastConfig = stored_field(ck, origin, "forecast.config")?;
    config
        .check()
        .map_err(|e| PlanError::Config(format!("{origin}: {e}")))?;
    let observation: ObservationConfig = stored_field(ck, origin, "forecast.observation")?;
    observation
        .check()
        .map_err(|e| PlanError::Config(format!("{origin}: forecast.observation: {e}")))?;
    let feature_names: Vec<String> = stored_field(ck, origin, "forecast.feature_names")?;
    let mean: Vec<f64> = stored_field(ck, origin, "forecast.feature_mean")?;
    let std: Vec<f64> = stored_field(ck, origin, "forecast.feature_std")?;
    let stored: Vec<Option<f64>> = stored_field(ck, origin, "forecast.profile")?;
    let profile = profile_from_stored(&stored)
        .filter(|_| mean.len() == feature_names.len() && std.len() == mean.len())
        .ok_or_else(|| {
            PlanError::Config(format!(
                "{origin}: the normalisation does not match the {} features (or the profile is not 96 slots)",
                feature_names.len()
            ))
        })?;
    Ok((
        config,
        observation,
        feature_names,
        FeatureScaling { mean, std, profile },
    ))
}

/// The trained forecaster.
#[derive(Debug, Clone)]
pub struct QuantileForecaster {
    /// Its settings.
    pub config: ForecastConfig,
    /// The network (outputs `horizon x quantiles` raw values, see `monotone`).
    pub mlp: Mlp,
    /// The features it reads (`ForecastConfig::observation_on` its training days).
    pub observation: ObservationConfig,
    /// How its features are normalised (from its training days).
    pub scaling: FeatureScaling,
    /// Feature names (to rebuild the features on other days).
    pub feature_names: Vec<String>,
    /// Price normalisation of the targets: (mean, std) on the training days, EUR/MWh.
    pub price_scale: (f64, f64),
    /// Mean validation pinball loss of the kept network (EUR/MWh), and its step.
    pub validation: (f64, usize),
}

/// Lowest quantile plus softplus increments: quantiles that never cross. In place on one row
/// of `quantiles` raw outputs.
fn monotone(raw: &[f32], out: &mut [f64]) {
    let mut acc = 0.0f64;
    for (k, (z, o)) in raw.iter().zip(out.iter_mut()).enumerate() {
        let z = f64::from(*z);
        acc = if k == 0 { z } else { acc + softplus(z) };
        *o = acc;
    }
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 {
        z
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Mean pinball loss of quantiles `q` (levels `taus`) for outcome `y`, and its gradient with
/// respect to the raw outputs `raw` of `monotone` (added into `grad`, scaled by `weight`).
fn pinball_with_grad(
    raw: &[f32],
    taus: &[f64],
    y: f64,
    q: &mut [f64],
    weight: f64,
    grad: Option<&mut [f32]>,
) -> f64 {
    monotone(raw, q);
    let mut loss = 0.0;
    let mut dq = [0.0f64; 99];
    for k in 0..taus.len() {
        let below = y < q[k];
        loss += if below {
            (1.0 - taus[k]) * (q[k] - y)
        } else {
            taus[k] * (y - q[k])
        };
        dq[k] = (if below { 1.0 } else { 0.0 }) - taus[k];
    }
    if let Some(grad) = grad {
        // q_k = z_0 + sum_{j=1..k} softplus(z_j): dq_k/dz_0 = 1, dq_k/dz_j = sigmoid(z_j) (j <= k).
        let mut tail = 0.0;
        for j in (0..taus.len()).rev() {
            tail += dq[j];
            let dz = if j == 0 {
                tail
            } else {
                tail * sigmoid(f64::from(raw[j]))
            };
            grad[j] += (weight * dz) as f32;
        }
    }
    loss / taus.len() as f64
}

impl QuantileForecaster {
    /// Trains on `train` (day indices of `days`, chronological), holding out the last
    /// `validation_share` of them to choose the training step.
    /// Where it could read the day-ahead curve (`ForecastConfig::observation_on`), it is fitted
    /// with and without it and the one with the lower validation loss is kept: the curve is read
    /// only where it helped on held-out training days.
    pub fn fit(
        days: &MarketDays,
        train: &[usize],
        config: &ForecastConfig,
    ) -> Result<QuantileForecaster, PlanError> {
        config.check()?;
        config.fit_best_reading(
            days,
            train,
            |observation| Self::fit_reading(days, train, config, observation),
            |f| f.validation.0,
        )
    }

    /// `fit`, reading the features `observation`.
    fn fit_reading(
        days: &MarketDays,
        train: &[usize],
        config: &ForecastConfig,
        observation: ObservationConfig,
    ) -> Result<QuantileForecaster, PlanError> {
        let features = MarketFeatures::build(days, &observation, Granularity::Qh, train)?;
        let (fit_days, val_days) = config.split_training(train);
        let h = config.horizon;
        let fit_rows = rows(days, &features, fit_days, h);
        if fit_rows.is_empty() {
            return Err(PlanError::NoRows(h));
        }
        let val_rows = rows(days, &features, val_days, h);
        let (mean, std) = price_scale_of(&fit_rows.y);
        let taus = config.taus();
        let k = taus.len();
        let mut mlp = Mlp::new(
            MlpConfig::relu(features.width, &config.hidden, h * k),
            config.seed,
        )?;
        let mut adam = Adam::new(
            AdamConfig {
                lr: config.lr,
                ..AdamConfig::default()
            },
            mlp.num_params(),
        );
        let mut forecaster = QuantileForecaster {
            config: config.clone(),
            observation,
            scaling: features.scaling(),
            feature_names: features.names.clone(),
            price_scale: (mean, std),
            validation: (f64::INFINITY, 0),
            mlp: mlp.clone(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_f0ca);
        let (w, b) = (features.width, config.batch_size);
        let mut cache = MlpCache::default();
        let (mut xb, mut yb) = (vec![0.0f32; b * w], vec![0.0f64; b * h]);
        let mut d_out = vec![0.0f32; b * h * k];
        let mut grads = mlp.zero_grads();
        let mut q = vec![0.0f64; k];
        let mut best = (f64::INFINITY, 0usize, mlp.clone());
        for step in 1..=config.steps {
            for r in 0..b {
                let i = rng.gen_range(0..fit_rows.len());
                xb[r * w..(r + 1) * w].copy_from_slice(&fit_rows.x[i * w..(i + 1) * w]);
                yb[r * h..(r + 1) * h].copy_from_slice(&fit_rows.y[i * h..(i + 1) * h]);
            }
            let out = mlp.forward(&xb, b, &mut cache).to_vec();
            d_out.fill(0.0);
            let weight = 1.0 / (b * h * k) as f64;
            for r in 0..b {
                for t in 0..h {
                    let o = (r * h + t) * k;
                    let y = (yb[r * h + t] - mean) / std;
                    pinball_with_grad(
                        &out[o..o + k],
                        &taus,
                        y,
                        &mut q,
                        weight,
                        Some(&mut d_out[o..o + k]),
                    );
                }
            }
            grads.fill(0.0);
            mlp.backward(&mut cache, &d_out, &mut grads, None);
            imbarb_nn::clip_grad_norm(&mut grads, 10.0);
            adam.update(mlp.params_mut(), &grads);
            if step % config.validate_every == 0 || step == config.steps {
                let rows_for_choice = if val_rows.is_empty() {
                    &fit_rows
                } else {
                    &val_rows
                };
                forecaster.mlp = mlp.clone();
                let loss = forecaster.mean_pinball(rows_for_choice);
                if loss < best.0 {
                    best = (loss, step, mlp.clone());
                }
            }
        }
        forecaster.validation = (best.0, best.1);
        forecaster.mlp = best.2;
        Ok(forecaster)
    }

    /// The forecaster's features on `days` (normalised with its own training statistics).
    pub fn features_for(&self, days: &MarketDays) -> Result<MarketFeatures, PlanError> {
        features_on(days, &self.observation, &self.feature_names, &self.scaling)
    }

    /// Quantiles (EUR/MWh), `horizon x quantiles` per row, for `batch` feature rows.
    pub fn predict(&self, x: &[f32], batch: usize, cache: &mut MlpCache, out: &mut Vec<f64>) {
        let (h, k) = (self.config.horizon, self.config.quantiles);
        let raw = self.mlp.forward(x, batch, cache);
        out.clear();
        out.resize(batch * h * k, 0.0);
        let (mean, std) = self.price_scale;
        for (r, o) in raw.chunks(k).zip(out.chunks_mut(k)) {
            monotone(r, o);
            for v in o.iter_mut() {
                *v = mean + std * *v;
            }
        }
    }

    /// The forecaster as a checkpoint: the network's tensors, and as metadata its settings,
    /// feature names, normalisation, price profile and price scale (f64 kept exactly in JSON),
    /// everything needed to forecast on new days without its training data.
    pub fn to_checkpoint(&self) -> Result<Checkpoint, PlanError> {
        let mut ck = Checkpoint::new();
        ck.put_mlp("forecaster", &self.mlp)?;
        write_reading(
            &mut ck,
            &self.config,
            &self.observation,
            &self.feature_names,
            &self.scaling,
        )?;
        ck.set_meta("forecast.price_scale", to_json(&self.price_scale)?);
        ck.set_meta("forecast.validation", to_json(&self.validation)?);
        Ok(ck)
    }

    /// Rebuilds a forecaster from `to_checkpoint`'s output; `origin` names the file in errors.
    pub fn from_checkpoint(ck: &Checkpoint, origin: &str) -> Result<QuantileForecaster, PlanError> {
        let (config, observation, feature_names, scaling) = read_reading(ck, origin)?;
        let mlp = ck
            .mlp("forecaster")
            .map_err(|e| PlanError::Config(format!("{origin}: {e}")))?;
        let outputs = config.horizon * config.quantiles;
        if mlp.config().input != feature_names.len() || mlp.config().output != outputs {
            return Err(PlanError::Config(format!(
                "{origin}: the network's shape does not match its {} features and {outputs} outputs",
                feature_names.len()
            )));
        }
        Ok(QuantileForecaster {
            config,
            observation,
            mlp,
            scaling,
            feature_names,
            price_scale: stored_field(ck, origin, "forecast.price_scale")?,
            validation: stored_field(ck, origin, "forecast.validation")?,
        })
    }

    /// Calls `f(row, quantiles)` for every row of `x` (the forecaster's features, row-major),
    /// `quantiles` being that row's `horizon x quantiles` EUR/MWh; predicts in chunks so a whole
    /// data set never sits in the network's buffers at once.
    pub fn for_each_prediction(&self, x: &[f32], mut f: impl FnMut(usize, &[f64])) {
        const CHUNK: usize = 1024;
        let w = self.feature_names.len();
        let rows = x.len().checked_div(w).unwrap_or(0);
        let per_row = self.config.horizon * self.config.quantiles;
        let (mut cache, mut q) = (MlpCache::default(), vec![]);
        for start in (0..rows).step_by(CHUNK) {
            let n = (rows - start).min(CHUNK);
            self.predict(&x[start * w..(start + n) * w], n, &mut cache, &mut q);
            for (r, row) in q.chunks_exact(per_row).enumerate() {
                f(start + r, row);
            }
        }
    }

    /// Mean pinball loss (EUR/MWh) over `rows`, every horizon and level.
    pub fn mean_pinball(&self, rows: &Rows) -> f64 {
        let (h, k) = (self.config.horizon, self.config.quantiles);
        let taus = self.config.taus();
        let w = self.feature_names.len();
        let mut cache = MlpCache::default();
        let mut total = 0.0;
        let mut count = 0usize;
        let mut q = vec![0.0f64; k];
        let (mean, std) = self.price_scale;
        for start in (0..rows.len()).step_by(1024) {
            let n = (rows.len() - start).min(1024);
            let raw = self
                .mlp
                .forward(&rows.x[start * w..(start + n) * w], n, &mut cache);
            for r in 0..n {
                for t in 0..h {
                    let o = (r * h + t) * k;
                    let y = (rows.y[(start + r) * h + t] - mean) / std;
                    total += pinball_with_grad(&raw[o..o + k], &taus, y, &mut q, 0.0, None);
                    count += 1;
                }
            }
        }
        std * total / count.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_quantiles_never_cross() {
        let raw = [-3.0f32, -20.0, 0.0, 5.0, -1.0];
        let mut q = [0.0; 5];
        monotone(&raw, &mut q);
        assert_eq!(q[0], -3.0);
        for w in q.windows(2) {
            assert!(w[1] > w[0]);
        }
    }

    #[test]
    fn pinball_gradient_matches_finite_differences() {
        let taus = [0.1, 0.3, 0.5, 0.7, 0.9];
        let raw = [0.2f32, -0.5, 0.3, 0.1, -1.0];
        let y = 0.9;
        let mut q = [0.0; 5];
        let mut grad = [0.0f32; 5];
        pinball_with_grad(&raw, &taus, y, &mut q, 1.0, Some(&mut grad));
        for j in 0..5 {
            let eps = 1e-3f32;
            let (mut up, mut down) = (raw, raw);
            up[j] += eps;
            down[j] -= eps;
            let lu = pinball_with_grad(&up, &taus, y, &mut q, 0.0, None);
            let ld = pinball_with_grad(&down, &taus, y, &mut q, 0.0, None);
            // The loss is a mean over levels; the gradient is of the sum (weight 1).
            let numeric = (lu - ld) / (2.0 * f64::from(eps)) * taus.len() as f64;
            assert!(
                (numeric - f64::from(grad[j])).abs() < 1e-3,
                "raw {j}: numeric {numeric} analytic {}",
                grad[j]
            );
        }
    }

    #[test]
    fn pinball_of_a_point_mass_is_its_closed_form() {
        // One level at 0.5: the pinball loss is half the absolute error.
        let mut q = [0.0];
        let l = pinball_with_grad(&[2.0], &[0.5], 5.0, &mut q, 0.0, None);
        assert!((l - 1.5).abs() < 1e-12);
    }
}
