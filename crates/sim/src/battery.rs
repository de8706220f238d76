//! Battery physics: power limits, usable energy, per-leg efficiencies, SoC bounds, the daily cycle
//! budget and optional degradation cost. Whatever is infeasible is clipped, and the clipped amount
//! is reported.
//!
//! Sign convention (one place for the whole project): grid power `> 0` = discharge = injection =
//! the BRP is long and earns `price x energy`; `< 0` = charge = withdrawal = the BRP pays.
//! Full equivalent cycles = (energy into the cells + energy out of the cells) / (2 x usable energy).

use crate::error::SimError;
use imbarb_util::range::Range;
use serde::{Deserialize, Serialize};

/// How the state of charge starts each day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InitialSoc {
    /// Every day starts at this fraction of usable energy.
    Fixed {
        /// Fraction of usable energy, within the SoC bounds.
        fraction: f64,
    },
    /// The first day starts at `first_fraction`; later consecutive days start where the previous
    /// one ended.
    CarryOver {
        /// Fraction of usable energy on the first day.
        first_fraction: f64,
    },
}

/// In words, for summaries: "50 % at the start, carried over" or "50 % every day".
impl std::fmt::Display for InitialSoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitialSoc::Fixed { fraction } => write!(f, "{} % every day", 100.0 * fraction),
            InitialSoc::CarryOver { first_fraction } => {
                write!(f, "{} % at the start, carried over", 100.0 * first_fraction)
            }
        }
    }
}

/// A battery and its operating limits. The defaults are the paper's battery: 1 MW / 2 MWh, 90 %
/// efficiency each way, full SoC range, no cycle cap, no degradation cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BatteryConfig {
    /// Maximum charging power at the grid connection, MW.
    pub charge_power_mw: f64,
    /// Maximum discharging power at the grid connection, MW.
    pub discharge_power_mw: f64,
    /// Usable energy of the cells, MWh.
    pub energy_mwh: f64,
    /// Charging efficiency (grid to cells).
    pub charge_efficiency: f64,
    /// Discharging efficiency (cells to grid).
    pub discharge_efficiency: f64,
    /// Lowest allowed SoC, fraction of usable energy.
    pub soc_min: f64,
    /// Highest allowed SoC, fraction of usable energy.
    pub soc_max: f64,
    /// Start-of-day SoC.
    pub initial_soc: InitialSoc,
    /// Daily budget of full equivalent cycles (reset at Brussels midnight); `None` = unlimited.
    pub cycles_per_day: Option<f64>,
    /// Degradation cost per MWh of cell throughput (in + out), EUR/MWh.
    pub degradation_eur_per_mwh: f64,
}

impl Default for BatteryConfig {
    fn default() -> Self {
        BatteryConfig {
            charge_power_mw: 1.0,
            discharge_power_mw: 1.0,
            energy_mwh: 2.0,
            charge_efficiency: 0.9,
            discharge_efficiency: 0.9,
            soc_min: 0.0,
            soc_max: 1.0,
            initial_soc: InitialSoc::CarryOver {
                first_fraction: 0.5,
            },
            cycles_per_day: None,
            degradation_eur_per_mwh: 0.0,
        }
    }
}

/// What one step of the battery did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepOutcome {
    /// Power actually delivered at the grid, MW (> 0 discharge).
    pub power_mw: f64,
    /// Energy at the grid over the step, MWh (> 0 injected).
    pub grid_energy_mwh: f64,
    /// Energy into the cells, MWh.
    pub cell_in_mwh: f64,
    /// Energy out of the cells, MWh.
    pub cell_out_mwh: f64,
    /// Requested minus delivered power, MW (what physics or the cycle budget refused).
    pub clipped_mw: f64,
}

/// One numeric battery parameter's allowed range.
pub struct BatteryLimit {
    /// The parameter, as configs name it.
    pub key: &'static str,
    /// Its allowed values.
    pub range: Range,
    /// Why the range is what it is.
    pub why: &'static str,
    /// The value in a config (`None`: not set, nothing to check).
    pub get: fn(&BatteryConfig) -> Option<f64>,
}

/// The allowed range of every numeric battery parameter. Wide enough for any grid battery built
/// or planned (hundreds of MW, thousands of MWh), narrow enough that every quantity the
/// simulator and solvers form stays far from float overflow and round-off.
pub const BATTERY_LIMITS: [BatteryLimit; 9] = [
    BatteryLimit {
        key: "charge_power_mw",
        range: Range::above(0.0, 10_000.0),
        why: "the largest batteries are a few GW",
        get: |b| Some(b.charge_power_mw),
    },
    BatteryLimit {
        key: "discharge_power_mw",
        range: Range::above(0.0, 10_000.0),
        why: "the largest batteries are a few GW",
        get: |b| Some(b.discharge_power_mw),
    },
    BatteryLimit {
        key: "energy_mwh",
        range: Range::closed(0.001, 100_000.0),
        why: "1 kWh to 100 GWh",
        get: |b| Some(b.energy_mwh),
    },
    BatteryLimit {
        key: "charge_efficiency",
        range: Range::closed(0.1, 1.0),
        why: "a fraction of the grid energy reaches the cells (at least 10 %: any storage device does better)",
        get: |b| Some(b.charge_efficiency),
    },
    BatteryLimit {
        key: "discharge_efficiency",
        range: Range::closed(0.1, 1.0),
        why: "a fraction of the cell energy reaches the grid (at least 10 %: any storage device does better)",
        get: |b| Some(b.discharge_efficiency),
    },
    BatteryLimit {
        key: "soc_min",
        range: Range::below(0.0, 1.0),
        why: "a fraction of usable energy",
        get: |b| Some(b.soc_min),
    },
    BatteryLimit {
        key: "soc_max",
        range: Range::above(0.0, 1.0),
        why: "a fraction of usable energy, above soc_min",
        get: |b| Some(b.soc_max),
    },
    BatteryLimit {
        key: "cycles_per_day",
        range: Range::closed(0.0, 1_000.0),
        why: "full equivalent cycles a day; beyond the battery's physical maximum a cap changes nothing",
        get: |b| b.cycles_per_day,
    },
    BatteryLimit {
        key: "degradation_eur_per_mwh",
        range: Range::closed(0.0, 10_000.0),
        why: "EUR per MWh of cell throughput, below the highest imbalance prices",
        get: |b| Some(b.degradation_eur_per_mwh),
    },
];

impl BatteryConfig {
    /// Checks physical plausibility, naming the first parameter out of range (see
    /// `BATTERY_LIMITS`).
    pub fn check(&self) -> Result<(), SimError> {
        for limit in BATTERY_LIMITS {
            let Some(value) = (limit.get)(self) else {
                continue;
            };
            if !limit.range.contains(value) {
                return Err(SimError::Battery {
                    field: limit.key,
                    value,
                    expected: limit.range.to_string(),
                });
            }
        }
        if self.soc_max <= self.soc_min {
            return Err(SimError::Battery {
                field: "soc_max",
                value: self.soc_max,
                expected: format!("a fraction above soc_min ({})", self.soc_min),
            });
        }
        let f = match self.initial_soc {
            InitialSoc::Fixed { fraction } => fraction,
            InitialSoc::CarryOver { first_fraction } => first_fraction,
        };
        if !(self.soc_min..=self.soc_max).contains(&f) {
            return Err(SimError::InitialSoc {
                value: f,
                min: self.soc_min,
                max: self.soc_max,
            });
        }
        Ok(())
    }

    /// Cell energy that grid energy moves, the one place the per-leg efficiencies turn one into
    /// the other: (into the cells, out of the cells), MWh, one of them 0. `grid_energy_mwh > 0`
    /// is discharged (the cells give grid / eta_d), `< 0` charged (the cells take |grid| x eta_c).
    /// The environment, the exact DP's lattice and the LP oracle all use it.
    #[inline]
    pub fn cell_energy(&self, grid_energy_mwh: f64) -> (f64, f64) {
        if grid_energy_mwh > 0.0 {
            (0.0, grid_energy_mwh / self.discharge_efficiency)
        } else {
            (-grid_energy_mwh * self.charge_efficiency, 0.0)
        }
    }

    /// Cell energy per MWh of grid energy: (into the cells per MWh charged, out of the cells per
    /// MWh discharged) = (eta_c, 1 / eta_d); the LP's coefficients.
    pub fn cell_per_grid_mwh(&self) -> (f64, f64) {
        let (into, _) = self.cell_energy(-1.0);
        let (_, out) = self.cell_energy(1.0);
        (into, out)
    }

    /// Lowest allowed cell energy, MWh.
    pub fn soc_min_mwh(&self) -> f64 {
        self.soc_min * self.energy_mwh
    }

    /// Highest allowed cell energy, MWh.
    pub fn soc_max_mwh(&self) -> f64 {
        self.soc_max * self.energy_mwh
    }

    /// Cell energy at the start of the first day, MWh.
    pub fn first_soc_mwh(&self) -> f64 {
        match self.initial_soc {
            InitialSoc::Fixed { fraction } => fraction * self.energy_mwh,
            InitialSoc::CarryOver { first_fraction } => first_fraction * self.energy_mwh,
        }
    }

    /// Cell energy at the start of a day, given where the previous consecutive day ended.
    pub fn day_start_soc_mwh(&self, previous_end: Option<f64>) -> f64 {
        match (self.initial_soc, previous_end) {
            (InitialSoc::CarryOver { .. }, Some(e)) => e,
            _ => self.first_soc_mwh(),
        }
    }

    /// Cell throughput (in + out) the daily cycle budget allows, MWh; infinite without a cap.
    pub fn daily_throughput_budget_mwh(&self) -> f64 {
        self.cycles_per_day
            .map_or(f64::INFINITY, |c| c * 2.0 * self.energy_mwh)
    }

    /// Full equivalent cycles of a cell throughput.
    pub fn cycles_of(&self, throughput_mwh: f64) -> f64 {
        throughput_mwh / (2.0 * self.energy_mwh)
    }

    /// Applies a requested grid power for `duration_h` from cell energy `soc_mwh` with
    /// `throughput_left_mwh` of today's cycle budget, clipping to what is feasible.
    pub fn step(
        &self,
        soc_mwh: f64,
        throughput_left_mwh: f64,
        requested_mw: f64,
        duration_h: f64,
    ) -> StepOutcome {
        let requested = if requested_mw.is_finite() {
            requested_mw
        } else {
            0.0
        };
        let budget = throughput_left_mwh.max(0.0);
        let power = if requested > 0.0 {
            // Discharge: cells give power * dt / eta_d.
            let by_rating = requested.min(self.discharge_power_mw);
            let cell_room = (soc_mwh - self.soc_min_mwh()).max(0.0).min(budget);
            by_rating.min(cell_room * self.discharge_efficiency / duration_h)
        } else if requested < 0.0 {
            // Charge: cells take |power| * dt * eta_c.
            let by_rating = (-requested).min(self.charge_power_mw);
            let cell_room = (self.soc_max_mwh() - soc_mwh).max(0.0).min(budget);
            -by_rating.min(cell_room / (self.charge_efficiency * duration_h))
        } else {
            0.0
        };
        let grid_energy_mwh = power * duration_h;
        let (cell_in_mwh, cell_out_mwh) = self.cell_energy(grid_energy_mwh);
        StepOutcome {
            power_mw: power,
            grid_energy_mwh,
            cell_in_mwh,
            cell_out_mwh,
            clipped_mw: requested - power,
        }
    }
}

/// A battery's constants for one decision length, precomputed for `step_fast`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepConstants {
    discharge_power_mw: f64,
    charge_power_mw: f64,
    soc_min_mwh: f64,
    soc_max_mwh: f64,
    discharge_efficiency: f64,
    charge_efficiency: f64,
    duration_h: f64,
    /// Grid power one MWh of cell room allows when discharging: eta_d / dt.
    out_power_per_mwh: f64,
    /// Grid power one MWh of cell room allows when charging: 1 / (eta_c dt).
    in_power_per_mwh: f64,
}

impl BatteryConfig {
    /// Precomputes the constants of `step_fast` for decisions of `duration_h`.
    pub fn step_constants(&self, duration_h: f64) -> StepConstants {
        StepConstants {
            discharge_power_mw: self.discharge_power_mw,
            charge_power_mw: self.charge_power_mw,
            soc_min_mwh: self.soc_min_mwh(),
            soc_max_mwh: self.soc_max_mwh(),
            discharge_efficiency: self.discharge_efficiency,
            charge_efficiency: self.charge_efficiency,
            duration_h,
            out_power_per_mwh: self.discharge_efficiency / duration_h,
            in_power_per_mwh: 1.0 / (self.charge_efficiency * duration_h),
        }
    }
}

/// `BatteryConfig::step` without branches, for the vectorised environment's inner loop (its cell
/// energies are `BatteryConfig::cell_energy` written branch-free, tested equal): the
/// discharge and charge parts of the request are limited separately with min/max and at most one
/// of them is non-zero. Gives the same outcome as `step` for finite requests (tested).
#[inline]
pub fn step_fast(
    k: &StepConstants,
    soc_mwh: f64,
    throughput_left_mwh: f64,
    requested_mw: f64,
) -> StepOutcome {
    let budget = throughput_left_mwh.max(0.0);
    let room_out = (soc_mwh - k.soc_min_mwh).max(0.0).min(budget);
    let room_in = (k.soc_max_mwh - soc_mwh).max(0.0).min(budget);
    let discharge = requested_mw
        .max(0.0)
        .min(k.discharge_power_mw)
        .min(room_out * k.out_power_per_mwh);
    let charge = (-requested_mw)
        .max(0.0)
        .min(k.charge_power_mw)
        .min(room_in * k.in_power_per_mwh);
    let power = discharge - charge;
    StepOutcome {
        power_mw: power,
        grid_energy_mwh: power * k.duration_h,
        cell_in_mwh: charge * k.duration_h * k.charge_efficiency,
        cell_out_mwh: discharge * k.duration_h / k.discharge_efficiency,
        clipped_mw: requested_mw - power,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn step_fast_equals_step(
            soc in -0.5f64..2.5, left in -1.0f64..5.0, req in -3.0f64..3.0,
            eff_c in 0.5f64..1.0, eff_d in 0.5f64..1.0, minute in any::<bool>(),
            cap in prop::option::of(0.1f64..2.0),
        ) {
            let b = BatteryConfig { charge_efficiency: eff_c, discharge_efficiency: eff_d,
                charge_power_mw: 1.5, cycles_per_day: cap, ..BatteryConfig::default() };
            let dt = if minute { 1.0 / 60.0 } else { 0.25 };
            let slow = b.step(soc, left, req, dt);
            let fast = step_fast(&b.step_constants(dt), soc, left, req);
            for (x, y) in [
                (slow.power_mw, fast.power_mw),
                (slow.grid_energy_mwh, fast.grid_energy_mwh),
                (slow.cell_in_mwh, fast.cell_in_mwh),
                (slow.cell_out_mwh, fast.cell_out_mwh),
                (slow.clipped_mw, fast.clipped_mw),
            ] {
                prop_assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{:?} vs {:?}", slow, fast);
            }
        }
    }

    #[test]
    fn efficiency_losses_by_hand() {
        let b = BatteryConfig::default();
        // Charge 1 MW for 15 min: 0.25 MWh from the grid, 0.225 MWh into the cells.
        let o = b.step(1.0, f64::INFINITY, -1.0, 0.25);
        assert!((o.grid_energy_mwh + 0.25).abs() < 1e-12);
        assert!((o.cell_in_mwh - 0.225).abs() < 1e-12);
        // Discharge 1 MW for 15 min: 0.25 MWh to the grid costs 0.2777... MWh of cells.
        let o = b.step(1.0, f64::INFINITY, 1.0, 0.25);
        assert!((o.cell_out_mwh - 0.25 / 0.9).abs() < 1e-12);
        assert_eq!(o.clipped_mw, 0.0);
    }

    #[test]
    fn soc_bounds_and_ratings_clip() {
        let b = BatteryConfig::default();
        // Nearly empty: only 0.09 MWh of cells left -> 0.081 MWh at the grid in 15 min.
        let o = b.step(0.09, f64::INFINITY, 1.0, 0.25);
        assert!((o.grid_energy_mwh - 0.081).abs() < 1e-12);
        assert!((o.power_mw - 0.324).abs() < 1e-12);
        assert!((o.clipped_mw - 0.676).abs() < 1e-12);
        // Full: charging is refused entirely.
        let o = b.step(2.0, f64::INFINITY, -1.0, 0.25);
        assert_eq!(o.power_mw, 0.0);
        assert_eq!(o.clipped_mw, -1.0);
        // Over-rated request is limited to the rating.
        let o = b.step(1.0, f64::INFINITY, 5.0, 0.25);
        assert_eq!(o.power_mw, 1.0);
        assert_eq!(o.clipped_mw, 4.0);
    }

    #[test]
    fn spent_cycle_budget_means_idle() {
        let b = BatteryConfig {
            cycles_per_day: Some(1.1),
            ..Default::default()
        };
        assert!((b.daily_throughput_budget_mwh() - 4.4).abs() < 1e-12);
        let o = b.step(1.0, 0.0, 1.0, 0.25);
        assert_eq!(o.power_mw, 0.0);
        let o = b.step(1.0, 0.1, -1.0, 0.25);
        assert!((o.cell_in_mwh - 0.1).abs() < 1e-12);
    }
}
