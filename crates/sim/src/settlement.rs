//! Imbalance settlement of a battery's energy per quarter-hour at the final price.
//! Single pricing: `price x energy`. Dual pricing: a long (injecting) position earns the long
//! price, a short (withdrawing) one pays the short price.

use imbarb_market::QhPrice;

/// Cash flow in EUR of a net quarter-hour position of `grid_energy_mwh` (> 0 injected / long).
/// Positive = the BRP receives money. A negative price reverses the flow.
pub fn settle(price: &QhPrice, grid_energy_mwh: f64) -> f64 {
    settle_legs(
        price.long_eur_per_mwh(),
        price.short_eur_per_mwh(),
        grid_energy_mwh,
    )
}

/// `settle` on the two legs of a price, branch-free (the vectorised environment's inner loop):
/// the long part of the position earns `long`, the short part pays `short`.
#[inline]
pub fn settle_legs(long_eur_per_mwh: f64, short_eur_per_mwh: f64, grid_energy_mwh: f64) -> f64 {
    grid_energy_mwh.max(0.0) * long_eur_per_mwh + grid_energy_mwh.min(0.0) * short_eur_per_mwh
}

/// Settlement increment when a quarter-hour's net position moves from `before` to `after` MWh:
/// lets minute-level steps earn rewards that add up exactly to the quarter-hour's settlement,
/// for single and dual prices alike.
pub fn settle_increment(price: &QhPrice, before_mwh: f64, after_mwh: f64) -> f64 {
    settle(price, after_mwh) - settle(price, before_mwh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_by_hand() {
        let p = QhPrice::Single(100.0);
        assert_eq!(settle(&p, 0.25), 25.0); // discharge earns
        assert_eq!(settle(&p, -0.25), -25.0); // charge pays
        let neg = QhPrice::Single(-80.0);
        assert_eq!(settle(&neg, -0.25), 20.0); // charging at a negative price earns
        assert_eq!(settle(&neg, 0.25), -20.0); // discharging at a negative price pays
        let dual = QhPrice::Dual {
            long_eur_per_mwh: 50.0,
            short_eur_per_mwh: 120.0,
        };
        assert_eq!(settle(&dual, 1.0), 50.0);
        assert_eq!(settle(&dual, -1.0), -120.0);
        // Increments add up to the net position's settlement even when the sign flips.
        let total = settle_increment(&dual, 0.0, 0.5) + settle_increment(&dual, 0.5, -0.25);
        assert!((total - settle(&dual, -0.25)).abs() < 1e-12);
    }
}
