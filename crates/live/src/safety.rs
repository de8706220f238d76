//! The safety layer between the policy and the battery, always on: whatever the model proposes,
//! the set-point sent respects the battery's power and SoC limits and the day's cycle budget,
//! and when the inputs cannot be trusted (stale data, a failing model, missing or contradictory
//! telemetry) a fallback policy decides instead, with the reason recorded.

use chrono::{DateTime, TimeDelta, Utc};
use imbarb_sim::BatteryConfig;
use serde::{Deserialize, Serialize};

/// What decides when the model may not.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FallbackPolicy {
    /// Hold 0 MW.
    Idle,
    /// The threshold rule on the latest final price: full charge below one price, full
    /// discharge above another, idle between (`imbarb backtest --policy rule` prints the
    /// thresholds fitted on training days). Idle when the price itself is stale or unknown.
    Rule {
        /// Charge at full power below this price, EUR/MWh.
        charge_below_eur_mwh: f64,
        /// Discharge at full power above this price, EUR/MWh.
        discharge_above_eur_mwh: f64,
    },
}

impl FallbackPolicy {
    /// The fallback's set-point before the hard limits: `price` is the latest final price when
    /// it is fresh enough to act on.
    fn power_mw(&self, battery: &BatteryConfig, price: Option<f64>) -> f64 {
        match (*self, price) {
            (
                FallbackPolicy::Rule {
                    charge_below_eur_mwh,
                    discharge_above_eur_mwh,
                },
                Some(p),
            ) if p.is_finite() => {
                if p < charge_below_eur_mwh {
                    -battery.charge_power_mw
                } else if p > discharge_above_eur_mwh {
                    battery.discharge_power_mw
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }
}

/// What the safety layer knows of the market at a decision.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarketView {
    /// End of the newest data (its publication time at the earliest).
    pub data_end: Option<DateTime<Utc>>,
    /// The latest final quarter-hour price, EUR/MWh.
    pub last_price: Option<f64>,
}

/// The safety layer's limits (all in the live config, with these defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SafetyConfig {
    /// The oldest the newest market data may be at a decision, minutes.
    pub max_data_age_min: i64,
    /// The oldest the latest telemetry may be at a decision, minutes.
    pub max_telemetry_age_min: i64,
    /// How far the measured SoC may drift from what the commands imply, MWh, before the
    /// telemetry is called contradictory.
    pub soc_tolerance_mwh: f64,
    /// What decides instead of the model.
    pub fallback: FallbackPolicy,
    /// Optional guard: once today's P&L falls to minus this, EUR, stop trading for the day.
    pub max_daily_loss_eur: Option<f64>,
    /// Optional guard: the set-point moves at most this many MW per minute from the previous one.
    pub max_change_mw_per_min: Option<f64>,
}

impl SafetyConfig {
    /// Checks every limit against its range; the error names the `[safety]` key.
    pub fn check(&self) -> Result<(), String> {
        use imbarb_util::range::Range;
        let minutes = Range::closed(1.0, 10_080.0); // a minute to a week
        let err = |e: imbarb_util::range::OutOfRange| format!("safety.{e}");
        minutes
            .check("max_data_age_min", self.max_data_age_min as f64)
            .map_err(err)?;
        minutes
            .check("max_telemetry_age_min", self.max_telemetry_age_min as f64)
            .map_err(err)?;
        Range::closed(0.0, 100_000.0)
            .check("soc_tolerance_mwh", self.soc_tolerance_mwh)
            .map_err(err)?;
        if let Some(x) = self.max_daily_loss_eur {
            Range::closed(0.0, 1e9)
                .check("max_daily_loss_eur", x)
                .map_err(err)?;
        }
        if let Some(x) = self.max_change_mw_per_min {
            Range::above(0.0, 10_000.0)
                .check("max_change_mw_per_min", x)
                .map_err(err)?;
        }
        if let FallbackPolicy::Rule {
            charge_below_eur_mwh: lo,
            discharge_above_eur_mwh: hi,
        } = self.fallback
        {
            let prices = Range::closed(-100_000.0, 100_000.0);
            prices
                .check("fallback.charge_below_eur_mwh", lo)
                .map_err(err)?;
            prices
                .check("fallback.discharge_above_eur_mwh", hi)
                .map_err(err)?;
            if lo > hi {
                return Err(format!(
                    "safety.fallback: charge_below_eur_mwh ({lo}) is above discharge_above_eur_mwh ({hi})"
                ));
            }
        }
        Ok(())
    }
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            max_data_age_min: 30,
            max_telemetry_age_min: 5,
            soc_tolerance_mwh: 0.1,
            fallback: FallbackPolicy::Idle,
            max_daily_loss_eur: None,
            max_change_mw_per_min: None,
        }
    }
}

/// Why the fallback decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FallbackReason {
    /// The newest market data is too old.
    StaleData {
        /// Its age, minutes.
        age_min: i64,
    },
    /// The model could not decide (its error).
    Model {
        /// What it said.
        error: String,
    },
    /// The model proposed a non-finite power.
    NonFinite,
    /// No telemetry yet, or too old.
    NoTelemetry {
        /// Its age, minutes (`None`: never received).
        age_min: Option<i64>,
    },
    /// Today's loss reached `max_daily_loss_eur`: no more trading today.
    DailyLoss {
        /// Today's P&L, EUR.
        pnl_eur: f64,
    },
    /// The measured SoC contradicts the commands sent since the last measurement.
    Contradiction {
        /// SoC the commands imply, MWh.
        expected_mwh: f64,
        /// SoC measured, MWh.
        measured_mwh: f64,
    },
}

impl FallbackReason {
    /// The reason's kind, as `/metrics` labels it.
    pub fn kind(&self) -> &'static str {
        match self {
            FallbackReason::StaleData { .. } => "stale-data",
            FallbackReason::Model { .. } => "model",
            FallbackReason::NonFinite => "non-finite",
            FallbackReason::NoTelemetry { .. } => "no-telemetry",
            FallbackReason::Contradiction { .. } => "contradiction",
            FallbackReason::DailyLoss { .. } => "daily-loss",
        }
    }
}

impl std::fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FallbackReason::StaleData { age_min } => write!(f, "market data {age_min} min old"),
            FallbackReason::Model { error } => write!(f, "model failed: {error}"),
            FallbackReason::NonFinite => write!(f, "model proposed a non-finite power"),
            FallbackReason::DailyLoss { pnl_eur } => {
                write!(
                    f,
                    "today's P&L {pnl_eur:.2} EUR reached the daily loss limit"
                )
            }
            FallbackReason::NoTelemetry { age_min: None } => write!(f, "no telemetry yet"),
            FallbackReason::NoTelemetry { age_min: Some(a) } => write!(f, "telemetry {a} min old"),
            FallbackReason::Contradiction {
                expected_mwh,
                measured_mwh,
            } => write!(
                f,
                "measured SoC {measured_mwh:.3} MWh, commands imply {expected_mwh:.3} MWh"
            ),
        }
    }
}

/// The battery's state as the safety layer knows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnownState {
    /// SoC, MWh (measured, or carried forward from the commands).
    pub soc_mwh: f64,
    /// Cell throughput today, MWh.
    pub throughput_mwh: f64,
    /// Power the battery says it can deliver now, MW (its rating when it does not say).
    pub available_mw: f64,
    /// When the SoC was last measured.
    pub measured_at: Option<DateTime<Utc>>,
    /// SoC the commands since then imply, MWh (equal to `soc_mwh` right after a measurement).
    pub expected_soc_mwh: f64,
    /// The set-point in force until now, MW.
    pub last_power_mw: f64,
    /// Today's P&L so far, EUR (settled or estimated).
    pub pnl_today_eur: f64,
}

/// What goes to the battery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafeSetPoint {
    /// The set-point, MW (> 0 discharge).
    pub power_mw: f64,
    /// What the model proposed, MW (`None` when it did not).
    pub proposed_mw: Option<f64>,
    /// Proposed minus sent, MW: what the hard limits removed.
    pub clipped_mw: f64,
    /// Why the fallback decided, if it did.
    pub fallback: Option<FallbackReason>,
}

/// Turns a model proposal into what is sent: the fallback's set-point when the inputs cannot be
/// trusted, then the hard limits (rating, available power, SoC bounds, the day's cycle budget)
/// through the battery model the simulator uses, for a set-point held `duration_h` hours.
pub fn secure(
    config: &SafetyConfig,
    battery: &BatteryConfig,
    state: &KnownState,
    proposal: Result<f64, String>,
    market: MarketView,
    now: DateTime<Utc>,
    duration_h: f64,
) -> SafeSetPoint {
    let data_end = market.data_end;
    let minutes = |t: DateTime<Utc>| (now - t).num_minutes();
    // Causes before symptoms: stale data also makes the model fail (a gap in its lags).
    let reason = if data_end.is_none_or(|t| now - t > TimeDelta::minutes(config.max_data_age_min)) {
        Some(FallbackReason::StaleData {
            age_min: data_end.map_or(i64::MAX, minutes),
        })
    } else if let Err(error) = &proposal {
        Some(FallbackReason::Model {
            error: error.clone(),
        })
    } else if proposal.as_ref().is_ok_and(|p| !p.is_finite()) {
        Some(FallbackReason::NonFinite)
    } else if state
        .measured_at
        .is_none_or(|t| now - t > TimeDelta::minutes(config.max_telemetry_age_min))
    {
        Some(FallbackReason::NoTelemetry {
            age_min: state.measured_at.map(minutes),
        })
    } else if config
        .max_daily_loss_eur
        .is_some_and(|limit| state.pnl_today_eur <= -limit)
    {
        Some(FallbackReason::DailyLoss {
            pnl_eur: state.pnl_today_eur,
        })
    } else if (state.soc_mwh - state.expected_soc_mwh).abs() > config.soc_tolerance_mwh {
        Some(FallbackReason::Contradiction {
            expected_mwh: state.expected_soc_mwh,
            measured_mwh: state.soc_mwh,
        })
    } else {
        None
    };
    let proposed_mw = proposal.ok().filter(|p| p.is_finite());
    let wanted = match &reason {
        // Stale data: no price to act on, whatever the fallback.
        Some(FallbackReason::StaleData { .. }) => 0.0,
        Some(_) => config.fallback.power_mw(battery, market.last_price),
        None => proposed_mw.unwrap_or(0.0),
    };
    let available = state.available_mw.max(0.0);
    let mut rated = wanted.clamp(-available, available);
    if let Some(ramp) = config.max_change_mw_per_min {
        let step = ramp.max(0.0) * duration_h * 60.0;
        rated = rated.clamp(state.last_power_mw - step, state.last_power_mw + step);
    }
    let left = battery.daily_throughput_budget_mwh() - state.throughput_mwh;
    let step = battery.step(state.soc_mwh, left, rated, duration_h);
    SafeSetPoint {
        power_mw: step.power_mw,
        proposed_mw,
        clipped_mw: proposed_mw.map_or(0.0, |p| p - step.power_mw),
        fallback: reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn fresh(soc: f64) -> KnownState {
        KnownState {
            soc_mwh: soc,
            throughput_mwh: 0.0,
            available_mw: 1.0,
            measured_at: Some(t("2024-06-01T12:00:00Z")),
            expected_soc_mwh: soc,
            last_power_mw: 0.0,
            pnl_today_eur: 0.0,
        }
    }

    const NOW: &str = "2024-06-01T12:02:00Z";

    fn run(
        state: &KnownState,
        proposal: Result<f64, String>,
        data_end: &str,
        battery: &BatteryConfig,
    ) -> SafeSetPoint {
        secure(
            &SafetyConfig::default(),
            battery,
            state,
            proposal,
            MarketView {
                data_end: Some(t(data_end)),
                last_price: Some(100.0),
            },
            t(NOW),
            0.25,
        )
    }

    /// Trusted inputs pass through, clipped only by physics: the rating, the available power,
    /// the SoC room and the cycle budget, each by hand.
    #[test]
    fn hard_limits_clip_what_physics_forbids() {
        let b = BatteryConfig::default(); // 1 MW / 2 MWh, 90 % each way, no cap
        let ok = "2024-06-01T12:00:00Z";
        let s = run(&fresh(1.0), Ok(0.8), ok, &b);
        assert_eq!((s.power_mw, s.fallback.clone()), (0.8, None));
        // Beyond the rating.
        assert_eq!(run(&fresh(1.0), Ok(5.0), ok, &b).power_mw, 1.0);
        // The battery says it can do 0.3 MW now.
        let limited = KnownState {
            available_mw: 0.3,
            ..fresh(1.0)
        };
        assert_eq!(run(&limited, Ok(-1.0), ok, &b).power_mw, -0.3);
        // 0.1 MWh above the floor: 0.1 x 0.9 / 0.25 h = 0.36 MW.
        let low = run(&fresh(0.1), Ok(1.0), ok, &b);
        assert!((low.power_mw - 0.36).abs() < 1e-12 && (low.clipped_mw - 0.64).abs() < 1e-12);
        // A cap of 1 cycle (4 MWh of throughput) with 3.95 MWh used: 0.05 MWh left.
        let capped = BatteryConfig {
            cycles_per_day: Some(1.0),
            ..b
        };
        let used = KnownState {
            throughput_mwh: 3.95,
            ..fresh(1.0)
        };
        let s = run(&used, Ok(1.0), ok, &capped);
        assert!((s.power_mw - 0.05 * 0.9 / 0.25).abs() < 1e-12, "{s:?}");
    }

    /// Every untrusted input hands the decision to the fallback (idle), with its reason.
    #[test]
    fn untrusted_inputs_fall_back_with_their_reason() {
        let b = BatteryConfig::default();
        let ok = "2024-06-01T12:00:00Z";
        let reason = |s: SafeSetPoint| {
            assert_eq!(s.power_mw, 0.0);
            s.fallback.expect("a fallback")
        };
        assert!(matches!(
            reason(run(&fresh(1.0), Err("boom".into()), ok, &b)),
            FallbackReason::Model { .. }
        ));
        assert_eq!(
            reason(run(&fresh(1.0), Ok(f64::NAN), ok, &b)),
            FallbackReason::NonFinite
        );
        assert_eq!(
            reason(run(&fresh(1.0), Ok(1.0), "2024-06-01T11:00:00Z", &b)),
            FallbackReason::StaleData { age_min: 62 }
        );
        let never = KnownState {
            measured_at: None,
            ..fresh(1.0)
        };
        assert_eq!(
            reason(run(&never, Ok(1.0), ok, &b)),
            FallbackReason::NoTelemetry { age_min: None }
        );
        let old = KnownState {
            measured_at: Some(t("2024-06-01T11:50:00Z")),
            ..fresh(1.0)
        };
        assert_eq!(
            reason(run(&old, Ok(1.0), ok, &b)),
            FallbackReason::NoTelemetry { age_min: Some(12) }
        );
        let drift = KnownState {
            expected_soc_mwh: 1.5,
            ..fresh(1.0)
        };
        assert!(matches!(
            reason(run(&drift, Ok(1.0), ok, &b)),
            FallbackReason::Contradiction { .. }
        ));
        // Even the fallback stays inside the limits (idle always does).
        assert_eq!(run(&fresh(1.0), Ok(0.5), ok, &b).fallback, None);
    }

    /// The optional guards: a day's loss at the limit stops trading for the day; the set-point
    /// ramps at most the configured MW per minute (a quarter-hour: 15 x that) from the last.
    #[test]
    fn the_daily_loss_and_ramp_guards_hold() {
        let b = BatteryConfig::default();
        let config = SafetyConfig {
            max_daily_loss_eur: Some(100.0),
            max_change_mw_per_min: Some(0.02),
            ..SafetyConfig::default()
        };
        let market = MarketView {
            data_end: Some(t("2024-06-01T12:00:00Z")),
            last_price: Some(100.0),
        };
        let go = |s: &KnownState, p: f64| secure(&config, &b, s, Ok(p), market, t(NOW), 0.25);
        // From idle, a full discharge ramps to 0.02 x 15 = 0.3 MW.
        let s = go(&fresh(1.0), 1.0);
        assert!(
            (s.power_mw - 0.3).abs() < 1e-12 && s.fallback.is_none(),
            "{s:?}"
        );
        // From -0.5 MW, it may reach -0.2 MW at most.
        let charging = KnownState {
            last_power_mw: -0.5,
            ..fresh(1.0)
        };
        assert!((go(&charging, 1.0).power_mw + 0.2).abs() < 1e-12);
        // 99.99 EUR down: still trading; 100 down: idle for the day, with the reason.
        let bad = KnownState {
            pnl_today_eur: -99.99,
            ..fresh(1.0)
        };
        assert!(go(&bad, 1.0).fallback.is_none());
        let worse = KnownState {
            pnl_today_eur: -100.0,
            ..fresh(1.0)
        };
        let s = go(&worse, 1.0);
        assert_eq!(
            (s.power_mw, s.fallback.map(|r| r.kind())),
            (0.0, Some("daily-loss"))
        );
    }

    /// Out-of-range limits are refused naming their key; the defaults pass.
    #[test]
    fn limits_are_checked_by_key() {
        assert_eq!(SafetyConfig::default().check(), Ok(()));
        let bad = [
            (
                SafetyConfig {
                    max_data_age_min: 0,
                    ..SafetyConfig::default()
                },
                "safety.max_data_age_min = 0",
            ),
            (
                SafetyConfig {
                    max_telemetry_age_min: -5,
                    ..SafetyConfig::default()
                },
                "safety.max_telemetry_age_min = -5",
            ),
            (
                SafetyConfig {
                    soc_tolerance_mwh: f64::NAN,
                    ..SafetyConfig::default()
                },
                "safety.soc_tolerance_mwh = NaN",
            ),
            (
                SafetyConfig {
                    max_daily_loss_eur: Some(-1.0),
                    ..SafetyConfig::default()
                },
                "safety.max_daily_loss_eur = -1",
            ),
            (
                SafetyConfig {
                    max_change_mw_per_min: Some(f64::INFINITY),
                    ..SafetyConfig::default()
                },
                "safety.max_change_mw_per_min = inf",
            ),
            (
                SafetyConfig {
                    fallback: FallbackPolicy::Rule {
                        charge_below_eur_mwh: 200.0,
                        discharge_above_eur_mwh: 50.0,
                    },
                    ..SafetyConfig::default()
                },
                "charge_below_eur_mwh (200) is above",
            ),
        ];
        for (config, says) in bad {
            let e = config.check().unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    /// The threshold-rule fallback acts on the latest price (charge below, discharge above,
    /// idle between, clipped like any set-point), and idles when the price itself is stale.
    #[test]
    fn the_rule_fallback_trades_on_a_fresh_price_only() {
        let b = BatteryConfig::default();
        let config = SafetyConfig {
            fallback: FallbackPolicy::Rule {
                charge_below_eur_mwh: 50.0,
                discharge_above_eur_mwh: 200.0,
            },
            ..SafetyConfig::default()
        };
        let never = KnownState {
            measured_at: None,
            ..fresh(1.0)
        };
        let at = |price: f64, data_end: &str| {
            let market = MarketView {
                data_end: Some(t(data_end)),
                last_price: Some(price),
            };
            secure(&config, &b, &never, Ok(0.3), market, t(NOW), 0.25)
        };
        let ok = "2024-06-01T12:00:00Z";
        assert_eq!(at(20.0, ok).power_mw, -1.0);
        assert_eq!(at(300.0, ok).power_mw, 1.0);
        assert_eq!(at(100.0, ok).power_mw, 0.0);
        assert!(at(300.0, ok).fallback.is_some());
        // An old price: idle, whatever it says.
        assert_eq!(at(300.0, "2024-06-01T10:00:00Z").power_mw, 0.0);
        // Clipped like the model: an empty battery cannot discharge.
        let empty = KnownState {
            soc_mwh: 0.0,
            expected_soc_mwh: 0.0,
            ..never
        };
        let market = MarketView {
            data_end: Some(t(ok)),
            last_price: Some(300.0),
        };
        assert_eq!(
            secure(&config, &b, &empty, Ok(0.3), market, t(NOW), 0.25).power_mw,
            0.0
        );
    }
}
