//! The forecaster's gradient-boosted baseline: from the same causal features as the quantile
//! MLP, one gradient-boosted tree ensemble per horizon predicting every quantile level (XGBoost's
//! `reg:quantileerror`, through `hessboost`, a deterministic pure-Rust reimplementation of
//! XGBoost's algorithms). It answers whether a tree model, the usual strong baseline on tabular
//! features, forecasts the next prices better than the network; both are scored by
//! `metrics::evaluate` on the same rows. The number of boosting rounds is chosen by early
//! stopping on the held-out last training days (the MLP's validation days), never on test days.
//! The trees boost from persistence: they learn each future price minus the last published one
//! (the `price_lag_1` feature, when read), since trees cannot extrapolate a price level outside
//! their training range and the market's level moves from month to month (on the 2022 autumn
//! prices the plain form scored below persistence itself).
//! Each row's levels are sorted (the rearrangement of Chernozhukov, Fernández-Val and Galichon,
//! which never increases the pinball loss), so quantiles never cross.

use crate::error::PlanError;
use crate::forecast::{
    features_on, pinball, price_scale_of, read_reading, rows, stored_field, to_json, write_reading,
    ForecastConfig, QuantileModel, Rows,
};
use hessboost::model::compact::CompactModel;
use hessboost::model::Predictions;
use hessboost::objective::Quantiles;
use hessboost::prelude::{
    BoostedModel, DMatrix, HessboostError, Iterations, ModelFormat, Objective, Trainer,
    TrainingParams,
};
use imbarb_nn::Checkpoint;
use imbarb_sim::{FeatureScaling, Granularity, MarketDays, MarketFeatures, ObservationConfig};
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;

/// How the trees are grown (`[forecast_features.trees]` in an agent's config, the flags of
/// `imbarb forecast --model gbdt`); the number of rounds is chosen on the held-out days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TreeSettings {
    /// Most boosting rounds per horizon.
    pub max_rounds: usize,
    /// Stop when the held-out pinball loss has not improved for this many rounds.
    pub patience: usize,
    /// Learning rate.
    pub eta: f64,
    /// Depth of each tree.
    pub max_depth: usize,
}

impl Default for TreeSettings {
    fn default() -> Self {
        TreeSettings {
            max_rounds: 400,
            patience: 20,
            eta: 0.1,
            max_depth: 6,
        }
    }
}

impl TreeSettings {
    /// Checks every setting; the error names it (`trees.*`).
    pub fn check(&self) -> Result<(), PlanError> {
        let bad = |what: &str| Err(PlanError::Config(what.to_string()));
        if self.max_rounds == 0 || self.patience == 0 {
            return bad("trees.max_rounds and trees.patience: expected at least 1");
        }
        if !(self.eta > 0.0 && self.eta <= 1.0) {
            return bad("trees.eta: expected a rate in (0, 1]");
        }
        if !(1..=16).contains(&self.max_depth) {
            return bad("trees.max_depth: expected 1..=16");
        }
        Ok(())
    }
}

/// The tree forecaster's settings: what it forecasts and reads, and how its trees grow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GbdtConfig {
    /// Horizon, levels, features, held-out share and seed (the MLP's own settings unused).
    pub base: ForecastConfig,
    /// How the trees grow.
    pub trees: TreeSettings,
}

impl GbdtConfig {
    /// Checks every setting; the error names it.
    pub fn check(&self) -> Result<(), PlanError> {
        self.base.check()?;
        self.trees.check()
    }
}

/// The metadata key naming a saved forecaster's model, present for trees only (a file
/// without it holds the quantile MLP, as every file written before the trees could be saved).
pub const MODEL_KEY: &str = "forecast.model";

/// The trained tree forecaster.
#[derive(Debug, Clone)]
pub struct GbdtForecaster {
    /// Its settings.
    pub config: GbdtConfig,
    /// The features it reads (`ForecastConfig::observation_on` its training days).
    pub observation: ObservationConfig,
    /// How its features are normalised (as the MLP's, so both read identical rows).
    pub scaling: FeatureScaling,
    /// Feature names (to rebuild the features on other days).
    pub feature_names: Vec<String>,
    /// One ensemble per horizon, each predicting every level, from the kept rounds only.
    models: Vec<Ensemble>,
    /// The last published price (`price_lag_1`) as (column, mean, std) of its normalisation,
    /// the level the trees boost from; None when the features do not read it.
    anchor: Option<(usize, f64, f64)>,
    /// Boosting rounds kept per horizon (early stopping's best round + 1).
    pub rounds: Vec<usize>,
    /// Mean pinball loss (EUR/MWh) on the held-out training days.
    pub validation: f64,
    /// Mean and standard deviation (EUR/MWh) of its training rows' targets, as the MLP's: the
    /// mean is what a plan over it values stored energy at, both normalise its quantiles as an
    /// agent's observation.
    pub price_scale: (f64, f64),
}

impl GbdtForecaster {
    /// Trains on `train` (day indices of `days`, chronological), holding out the last
    /// `validation_share` of them to stop boosting; where the data allows it, fits with and
    /// without the day-ahead curve and keeps the one with the lower held-out pinball loss.
    pub fn fit(
        days: &MarketDays,
        train: &[usize],
        config: &GbdtConfig,
    ) -> Result<GbdtForecaster, PlanError> {
        config.check()?;
        config.base.fit_best_reading(
            days,
            train,
            |observation| Self::fit_reading(days, train, config, observation),
            |f| f.validation,
        )
    }

    /// `fit`, reading the features `observation`.
    fn fit_reading(
        days: &MarketDays,
        train: &[usize],
        config: &GbdtConfig,
        observation: ObservationConfig,
    ) -> Result<GbdtForecaster, PlanError> {
        let features = MarketFeatures::build(days, &observation, Granularity::Qh, train)?;
        let (fit_days, val_days) = config.base.split_training(train);
        let h = config.base.horizon;
        let fit_rows = rows(days, &features, fit_days, h);
        if fit_rows.is_empty() {
            return Err(PlanError::NoRows(h));
        }
        let val_rows = rows(days, &features, val_days, h);
        let stop_rows = if val_rows.is_empty() {
            &fit_rows
        } else {
            &val_rows
        };
        let scaling = features.scaling();
        let anchor = features
            .names
            .iter()
            .position(|n| n == "price_lag_1")
            .map(|c| (c, scaling.mean[c], scaling.std[c]));
        let (models, rounds) = fit_models(&fit_rows, stop_rows, features.width, anchor, config)?;
        let mut f = GbdtForecaster {
            anchor,
            config: config.clone(),
            observation,
            scaling,
            feature_names: features.names.clone(),
            models,
            rounds,
            validation: f64::INFINITY,
            price_scale: price_scale_of(&fit_rows.y),
        };
        f.validation = f.mean_pinball(stop_rows)?;
        Ok(f)
    }

    /// Mean pinball loss (EUR/MWh) over `rows`, every horizon and level.
    pub fn mean_pinball(&self, rows: &Rows) -> Result<f64, PlanError> {
        let (h, taus) = (self.config.base.horizon, self.config.base.taus());
        let k = taus.len();
        let (mut total, mut count) = (0.0, 0usize);
        self.for_each_quantiles(&rows.x, &mut |i, q| {
            for t in 0..h {
                total += pinball(&taus, &q[t * k..(t + 1) * k], rows.y[i * h + t]);
                count += 1;
            }
        })?;
        Ok(total / count.max(1) as f64)
    }
}

/// A hessboost error, naming the horizon.
fn gbdt_error(horizon: usize, e: impl std::fmt::Display) -> PlanError {
    PlanError::Config(format!("gbdt (horizon {horizon}): {e}"))
}

/// The level of each row of `x` (features `width` wide) the trees boost from: the last
/// published price, or 0 without `anchor`.
fn levels(x: &[f32], width: usize, anchor: Option<(usize, f64, f64)>) -> Vec<f64> {
    x.chunks_exact(width)
        .map(|row| anchor.map_or(0.0, |(c, mean, std)| mean + std * f64::from(row[c])))
        .collect()
}

/// `rows`' features and the prices `t` quarter-hours ahead minus each row's `level`, as a
/// labelled matrix.
fn labelled(rows: &Rows, level: &[f64], width: usize, t: usize) -> Result<DMatrix, PlanError> {
    let h = rows.y.len() / rows.len().max(1);
    let y: Vec<f32> = (0..rows.len())
        .map(|i| (rows.y[i * h + t] - level[i]) as f32)
        .collect();
    DMatrix::from_dense(&rows.x, rows.len(), width)
        .and_then(|m| m.with_labels(&y))
        .map_err(|e| gbdt_error(t + 1, e))
}

/// Fits one ensemble per horizon on `fit`, each stopped on `stop`; returns them (compacted to
/// their kept rounds) and the number of rounds kept.
fn fit_models(
    fit: &Rows,
    stop: &Rows,
    width: usize,
    anchor: Option<(usize, f64, f64)>,
    config: &GbdtConfig,
) -> Result<(Vec<Ensemble>, Vec<usize>), PlanError> {
    let quantiles = Quantiles::new(config.base.taus()).map_err(|e| gbdt_error(0, e))?;
    let params = TrainingParams::builder()
        .objective(Objective::Quantile(quantiles))
        .eta(config.trees.eta)
        .max_depth(config.trees.max_depth)
        .seed(config.base.seed)
        .build()
        .map_err(|e| gbdt_error(0, e))?;
    let patience = NonZeroUsize::new(config.trees.patience)
        .ok_or_else(|| PlanError::Config("trees.patience: expected at least 1".into()))?;
    let (fit_level, stop_level) = (
        levels(&fit.x, width, anchor),
        levels(&stop.x, width, anchor),
    );
    let (mut models, mut rounds) = (vec![], vec![]);
    for t in 0..config.base.horizon {
        let dfit = labelled(fit, &fit_level, width, t)?;
        let dstop = labelled(stop, &stop_level, width, t)?;
        let result = Trainer::new(&params, &dfit, config.trees.max_rounds)
            .eval(&dstop, "held-out")
            .early_stopping_rounds(patience)
            .train()
            .map_err(|e| gbdt_error(t + 1, e))?;
        let kept = result
            .model
            .best_iteration()
            .map_or(result.model.num_boost_rounds(), |b| b + 1);
        rounds.push(kept);
        models.push(Ensemble::Native(Box::new(
            result
                .model
                .slice(..kept, 1)
                .map_err(|e| gbdt_error(t + 1, e))?,
        )));
    }
    Ok((models, rounds))
}

impl GbdtForecaster {
    /// The forecaster as a checkpoint: each horizon's trees as a byte string in hessboost's
    /// native encoding (`Ensemble`), and as metadata what the MLP's checkpoint holds (settings,
    /// features, normalisation, price scale) plus the tree settings, the anchor and the rounds
    /// kept.
    pub fn to_checkpoint(&self) -> Result<Checkpoint, PlanError> {
        let mut ck = Checkpoint::new();
        write_reading(
            &mut ck,
            &self.config.base,
            &self.observation,
            &self.feature_names,
            &self.scaling,
        )?;
        ck.set_meta(MODEL_KEY, to_json("gbdt")?);
        ck.set_meta("forecast.trees", to_json(&self.config.trees)?);
        ck.set_meta("forecast.anchor", to_json(&self.anchor)?);
        ck.set_meta("forecast.rounds", to_json(&self.rounds)?);
        ck.set_meta("forecast.validation", to_json(&self.validation)?);
        ck.set_meta("forecast.price_scale", to_json(&self.price_scale)?);
        for (t, model) in self.models.iter().enumerate() {
            let name = format!("forecaster.trees.h{}", t + 1);
            let bytes = model
                .encode()
                .map_err(|e| PlanError::Config(format!("forecaster: {name}: {e}")))?;
            ck.put_bytes(&name, bytes)
                .map_err(|e| PlanError::Config(format!("forecaster: {e}")))?;
        }
        Ok(ck)
    }

    /// Rebuilds a tree forecaster from `to_checkpoint`'s output, checking that every
    /// horizon's trees read its features and give its levels; `origin` names the file in
    /// errors.
    pub fn from_checkpoint(ck: &Checkpoint, origin: &str) -> Result<GbdtForecaster, PlanError> {
        let (base, observation, feature_names, scaling) = read_reading(ck, origin)?;
        let trees: TreeSettings = stored_field(ck, origin, "forecast.trees")?;
        trees
            .check()
            .map_err(|e| PlanError::Config(format!("{origin}: forecast.{e}")))?;
        let anchor: Option<(usize, f64, f64)> = stored_field(ck, origin, "forecast.anchor")?;
        let width = feature_names.len();
        if anchor.is_some_and(|(c, _, std)| c >= width || std.is_nan() || std <= 0.0) {
            return Err(PlanError::Config(format!(
                "{origin}: forecast.anchor: not one of the {width} features"
            )));
        }
        let models = (1..=base.horizon)
            .map(|t| {
                let name = format!("forecaster.trees.h{t}");
                let bytes = ck
                    .get_bytes(&name)
                    .map_err(|e| PlanError::Config(format!("{origin}: {e}")))?;
                let model = Ensemble::decode(bytes)
                    .map_err(|e| PlanError::Config(format!("{origin}: {name}: {e}")))?;
                if model.n_features() != width || model.n_outputs() != base.quantiles {
                    return Err(PlanError::Config(format!(
                        "{origin}: {name}: trees of {} features and {} outputs, expected {width} and {}",
                        model.n_features(),
                        model.n_outputs(),
                        base.quantiles
                    )));
                }
                Ok(model)
            })
            .collect::<Result<Vec<_>, PlanError>>()?;
        Ok(GbdtForecaster {
            config: GbdtConfig { base, trees },
            observation,
            scaling,
            feature_names,
            models,
            anchor,
            rounds: stored_field(ck, origin, "forecast.rounds")?,
            validation: stored_field(ck, origin, "forecast.validation")?,
            price_scale: stored_field(ck, origin, "forecast.price_scale")?,
        })
    }
}

/// One horizon's trees. New fits keep hessboost's native model, whose batch prediction walks
/// the trees about 20x faster than the bit-packed compact layout (`cargo bench -p imbarb-plan
/// --bench gbdt_predict`): forecasting every quarter-hour of a setup over 32 horizons took
/// minutes from the compact form. Forecasters saved before (compact, 2.5x fewer bytes) still
/// load and predict as they did; both give bit-identical margins for the same trees.
#[derive(Debug, Clone)]
enum Ensemble {
    /// hessboost's native model, sliced to the kept rounds.
    Native(Box<BoostedModel>),
    /// hessboost's compact model (files written before the native form).
    Compact(Box<CompactModel>),
}

impl Ensemble {
    /// The compact encoding's magic (hessboost's `HBTD` files); the native encoding is a
    /// zstd frame or starts `HBM`.
    const COMPACT_MAGIC: &'static [u8; 4] = b"HBTD";

    /// Reads either encoding, told apart by the compact one's magic.
    fn decode(bytes: &[u8]) -> Result<Ensemble, HessboostError> {
        if bytes.starts_with(Self::COMPACT_MAGIC) {
            CompactModel::decode(bytes).map(|m| Ensemble::Compact(Box::new(m)))
        } else {
            BoostedModel::decode(bytes, ModelFormat::Binary).map(|m| Ensemble::Native(Box::new(m)))
        }
    }

    /// The bytes `decode` reads back.
    fn encode(&self) -> Result<Vec<u8>, HessboostError> {
        match self {
            Ensemble::Native(m) => m.encode(ModelFormat::Binary),
            Ensemble::Compact(m) => Ok(m.encode()),
        }
    }

    /// Features each row must have.
    fn n_features(&self) -> usize {
        match self {
            Ensemble::Native(m) => m.n_features(),
            Ensemble::Compact(m) => m.n_features(),
        }
    }

    /// Outputs per row: the quantile levels.
    fn n_outputs(&self) -> usize {
        match self {
            Ensemble::Native(m) => m.n_outputs(),
            Ensemble::Compact(m) => m.n_outputs(),
        }
    }

    /// Every output of every row of `data`, from all the kept rounds.
    fn predict(&self, data: &DMatrix) -> Result<Predictions, HessboostError> {
        match self {
            Ensemble::Native(m) => m.predict(data, Iterations::Best),
            Ensemble::Compact(m) => m.predict(data),
        }
    }
}

impl QuantileModel for GbdtForecaster {
    fn horizon(&self) -> usize {
        self.config.base.horizon
    }
    fn taus(&self) -> Vec<f64> {
        self.config.base.taus()
    }
    fn observation(&self) -> &ObservationConfig {
        &self.observation
    }
    fn features_for(&self, days: &MarketDays) -> Result<MarketFeatures, PlanError> {
        features_on(days, &self.observation, &self.feature_names, &self.scaling)
    }
    fn for_each_quantiles(
        &self,
        x: &[f32],
        f: &mut dyn FnMut(usize, &[f64]),
    ) -> Result<(), PlanError> {
        const CHUNK: usize = 8192;
        let w = self.feature_names.len();
        let n = x.len().checked_div(w).unwrap_or(0);
        let (h, k) = (self.config.base.horizon, self.config.base.quantiles);
        let mut out = vec![];
        for start in (0..n).step_by(CHUNK) {
            let m = (n - start).min(CHUNK);
            out.clear();
            out.resize(m * h * k, 0.0);
            let chunk = &x[start * w..(start + m) * w];
            let level = levels(chunk, w, self.anchor);
            let matrix = DMatrix::from_dense(chunk, m, w).map_err(|e| gbdt_error(0, e))?;
            for (t, model) in self.models.iter().enumerate() {
                let p = model.predict(&matrix).map_err(|e| gbdt_error(t + 1, e))?;
                for (r, outputs) in p.rows().enumerate() {
                    let o = &mut out[(r * h + t) * k..(r * h + t + 1) * k];
                    for (v, l) in o.iter_mut().zip(outputs) {
                        *v = level[r] + f64::from(*l);
                    }
                    o.sort_by(f64::total_cmp);
                }
            }
            for (r, row) in out.chunks_exact(h * k).enumerate() {
                f(start + r, row);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` rows of one feature x ~ U(-1, 1) and one horizon: price = level + U(0, 4), the level
    /// 10 + 20 x (x read as the last price normalised with mean 10, std 20, when `anchored`).
    fn uniform_rows(n: usize, seed: u64) -> Rows {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut r = Rows::default();
        for i in 0..n {
            let x: f64 = rng.gen_range(-1.0..1.0);
            r.x.push(x as f32);
            r.y.push(10.0 + 20.0 * x + rng.gen_range(0.0..4.0));
            r.at.push((0, i));
        }
        r
    }

    /// One horizon, levels 25 / 50 / 75 %, at most 300 rounds.
    fn one_horizon() -> GbdtConfig {
        GbdtConfig {
            base: ForecastConfig {
                horizon: 1,
                quantiles: 3,
                ..ForecastConfig::default()
            },
            trees: TreeSettings {
                max_rounds: 300,
                ..TreeSettings::default()
            },
        }
    }

    fn forecaster(anchor: Option<(usize, f64, f64)>) -> GbdtForecaster {
        let config = one_horizon();
        let (fit, stop) = (uniform_rows(4000, 1), uniform_rows(1000, 2));
        let (models, rounds) = fit_models(&fit, &stop, 1, anchor, &config).unwrap();
        GbdtForecaster {
            config,
            observation: ObservationConfig::default(),
            scaling: FeatureScaling {
                mean: vec![10.0],
                std: vec![20.0],
                profile: [f64::NAN; 96],
            },
            feature_names: vec!["price_lag_1".into()],
            models,
            anchor,
            rounds,
            validation: f64::NAN,
            price_scale: (f64::NAN, f64::NAN),
        }
    }

    #[test]
    fn quantiles_of_a_uniform_noise_match_their_closed_form() {
        // The tau quantile of level + U(0, 4) is level + 4 tau, at 25 / 50 / 75 %: +1, +2, +3.
        for anchor in [None, Some((0, 10.0, 20.0))] {
            let f = forecaster(anchor);
            let grid: Vec<f32> = (0..41).map(|i| -0.8 + 0.04 * i as f32).collect();
            let (mut worst, mut total) = (0.0f64, 0.0);
            f.for_each_quantiles(&grid, &mut |i, q| {
                let level = 10.0 + 20.0 * f64::from(grid[i]);
                for (k, v) in q.iter().enumerate() {
                    let e = (v - (level + (k + 1) as f64)).abs();
                    worst = worst.max(e);
                    total += e;
                }
            })
            .unwrap();
            let mean = total / (3 * grid.len()) as f64;
            // Boosting from the level leaves only the noise's quantiles to learn; without it
            // the trees approximate the slope by steps, close on average, off by up to 1 at some x.
            let (mean_bound, worst_bound) = if anchor.is_some() {
                (0.1, 0.3)
            } else {
                (0.3, 1.5)
            };
            assert!(
                mean < mean_bound && worst < worst_bound,
                "anchor {anchor:?}: mean error {mean}, worst {worst}"
            );
            // The held-out loss is near the closed form's: E pinball at the true quantiles of
            // U(0, 4) is 4 tau (1 - tau) / 2, averaged over the three levels.
            let best = [0.25, 0.5, 0.75]
                .iter()
                .map(|t| 4.0 * t * (1.0 - t) / 2.0)
                .sum::<f64>()
                / 3.0;
            let loss = f.mean_pinball(&uniform_rows(2000, 3)).unwrap();
            assert!(loss > best * 0.95 && loss < best * 1.15, "{loss} vs {best}");
        }
    }

    #[test]
    fn boosting_stops_early_on_noise_the_features_do_not_explain() {
        let config = one_horizon();
        // Prices independent of the feature: after the intercept nothing is learnt.
        let mut fit = uniform_rows(3000, 4);
        let mut stop = uniform_rows(1000, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for y in fit.y.iter_mut().chain(stop.y.iter_mut()) {
            *y = rng.gen_range(0.0..4.0);
        }
        let (_, rounds) = fit_models(&fit, &stop, 1, None, &config).unwrap();
        assert!(rounds[0] < 60, "kept {} rounds of noise", rounds[0]);
        // With a real signal it keeps far more.
        let (_, signal) = fit_models(
            &uniform_rows(3000, 4),
            &uniform_rows(1000, 5),
            1,
            None,
            &config,
        )
        .unwrap();
        assert!(signal[0] > rounds[0] + 30, "{signal:?} vs {rounds:?}");
    }

    #[test]
    fn a_forecaster_saved_in_the_compact_form_reads_back_and_predicts_the_same() {
        // Forecasters saved before the native form hold compact trees: the same trees in either
        // form give bit-identical quantiles, through a checkpoint too.
        let mut native = forecaster(Some((0, 10.0, 20.0)));
        (native.validation, native.price_scale) = (1.0, (10.0, 20.0));
        let mut compact = native.clone();
        compact.models = native
            .models
            .iter()
            .map(|m| match m {
                Ensemble::Native(m) => Ensemble::Compact(Box::new(m.to_compact().unwrap())),
                Ensemble::Compact(_) => panic!("a new fit keeps the native form"),
            })
            .collect();
        let grid: Vec<f32> = (0..301).map(|i| -1.5 + 0.01 * i as f32).collect();
        let collect = |f: &GbdtForecaster| {
            let mut all = vec![];
            f.for_each_quantiles(&grid, &mut |_, q| all.extend_from_slice(q))
                .unwrap();
            all
        };
        let expected = collect(&native);
        assert_eq!(collect(&compact), expected);
        for f in [&native, &compact] {
            let ck = f.to_checkpoint().unwrap();
            let back = GbdtForecaster::from_checkpoint(&ck, "test").unwrap();
            assert!(matches!(
                (&f.models[0], &back.models[0]),
                (Ensemble::Native(_), Ensemble::Native(_))
                    | (Ensemble::Compact(_), Ensemble::Compact(_))
            ));
            assert_eq!(collect(&back), expected);
        }
        // The file's model key picks the model; another model, or a key that is not JSON, is an
        // error naming the file and the key.
        let ck = native.to_checkpoint().unwrap();
        assert!(matches!(
            crate::Forecaster::from_checkpoint(&ck, "f.safetensors"),
            Ok(crate::Forecaster::Trees(_))
        ));
        for model in ["\"lstm\"", "gbdt"] {
            let mut other = native.to_checkpoint().unwrap();
            other.set_meta(MODEL_KEY, model.to_string());
            let err = crate::Forecaster::from_checkpoint(&other, "f.safetensors").unwrap_err();
            assert!(
                err.to_string().starts_with("f.safetensors: forecast.model"),
                "{err}"
            );
        }
        // Damaged bytes in either form are an error naming the horizon's key.
        for junk in [&b"HBTD junk"[..], &b"junk"[..]] {
            let mut ck = native.to_checkpoint().unwrap();
            ck.put_bytes("forecaster.trees.h1", junk.to_vec()).unwrap();
            let err = GbdtForecaster::from_checkpoint(&ck, "f.safetensors").unwrap_err();
            assert!(
                err.to_string()
                    .contains("f.safetensors: forecaster.trees.h1"),
                "{err}"
            );
        }
    }
}
