//! Input drift: the market the service sees against the prices the deployed run was trained on
//! (level, volatility, share of negative prices). Warnings for the operator, never actions: a
//! changed market is a reason to look and to retrain, not proof that the model is wrong.

use imbarb_market::stats::PriceSummary;
use serde::{Deserialize, Serialize};

/// `[drift]` in `live.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Recent days compared with the training prices.
    pub window_days: u32,
    /// Warn when the recent mean moves more than this many training standard deviations.
    pub level_std: f64,
    /// Warn when the recent standard deviation is more than this factor above or below the
    /// training one.
    pub volatility_ratio: f64,
    /// Warn when the share of negative prices moves more than this (absolute, 0..1).
    pub negative_share: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            window_days: 7,
            level_std: 0.5,
            volatility_ratio: 1.5,
            negative_share: 0.10,
        }
    }
}

impl DriftConfig {
    /// Checks the numbers, naming the key.
    pub fn check(&self) -> Result<(), String> {
        use imbarb_util::range::Range;
        let e = |e: imbarb_util::range::OutOfRange| format!("drift.{e}");
        Range::closed(1.0, 366.0)
            .check("window_days", f64::from(self.window_days))
            .map_err(e)?;
        Range::above(0.0, 100.0)
            .check("level_std", self.level_std)
            .map_err(e)?;
        Range::closed(1.0, 100.0)
            .check("volatility_ratio", self.volatility_ratio)
            .map_err(e)?;
        Range::closed(0.0, 1.0)
            .check("negative_share", self.negative_share)
            .map_err(e)?;
        Ok(())
    }
}

/// The warnings `recent` prices raise against the `training` ones.
pub fn warnings(
    config: &DriftConfig,
    training: &PriceSummary,
    recent: &PriceSummary,
) -> Vec<String> {
    let mut out = vec![];
    let days = config.window_days;
    if training.std > 0.0 && (recent.mean - training.mean).abs() > config.level_std * training.std {
        out.push(format!(
            "price level: {:.1} EUR/MWh over the last {days} days, {:.1} in training ({:+.2} training std)",
            recent.mean,
            training.mean,
            (recent.mean - training.mean) / training.std
        ));
    }
    if training.std > 0.0 {
        let ratio = recent.std / training.std;
        if ratio > config.volatility_ratio || ratio < 1.0 / config.volatility_ratio {
            out.push(format!(
                "volatility: std {:.1} EUR/MWh over the last {days} days, {:.1} in training ({ratio:.2}x)",
                recent.std, training.std
            ));
        }
    }
    if (recent.negative_share - training.negative_share).abs() > config.negative_share {
        out.push(format!(
            "negative prices: {:.0} % of quarter-hours over the last {days} days, {:.0} % in training",
            recent.negative_share * 100.0,
            training.negative_share * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(mean: f64, std: f64, negative_share: f64) -> PriceSummary {
        PriceSummary {
            count: 672,
            mean,
            std,
            negative_share,
        }
    }

    #[test]
    fn each_shift_warns_past_its_bound_only() {
        let c = DriftConfig::default();
        let train = summary(170.0, 100.0, 0.17);
        assert!(warnings(&c, &train, &summary(210.0, 140.0, 0.25)).is_empty());
        let w = warnings(&c, &train, &summary(80.0, 100.0, 0.17));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("price level"), "{w:?}");
        let w = warnings(&c, &train, &summary(170.0, 60.0, 0.30));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("volatility") && w[1].starts_with("negative prices"));
    }
}
