//! Paper trading on recorded days: the service's core driven by a simulated clock over recorded
//! market data (each row "published" at its real publication time) and a simulated battery
//! that follows every set-point and reports its SoC before each decision. The same code as live,
//! so a replay is what the service would have done.

use crate::journal::{DecisionEvent, TelemetryEvent};
use crate::service::{LiveCore, LiveError};
use chrono::{NaiveDate, TimeDelta};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::MarketData;
use imbarb_sim::{settle_increment, BatteryConfig, Granularity};

/// One replayed decision with the simulated battery's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The decision as journaled.
    pub decision: DecisionEvent,
    /// What the settlement paid for it, minus degradation, EUR.
    pub profit_eur: f64,
}

/// Replays `days` (Brussels dates, in order) of `market` through `core`, whose battery is
/// simulated from `soc_mwh`; returns every decision with its settlement.
pub fn replay(
    core: &mut LiveCore,
    market: &MarketData,
    days: &[NaiveDate],
    battery: &BatteryConfig,
    granularity: Granularity,
    mut soc_mwh: f64,
) -> Result<Vec<Replayed>, LiveError> {
    let per_qh = granularity.decisions_per_qh();
    let duration_h = granularity.duration_h();
    let mut out = vec![];
    for &day in days {
        let mut throughput = 0.0;
        for qh_start in day_qh_starts(day) {
            let Some(price) = market
                .qh
                .binary_search_by_key(&qh_start, |r| r.start_utc)
                .ok()
                .map(|i| market.qh[i].price)
            else {
                continue;
            };
            let mut position = 0.0;
            for m in 0..per_qh {
                let at = qh_start + TimeDelta::minutes(m as i64);
                core.telemetry(TelemetryEvent {
                    at,
                    soc_mwh,
                    available_mw: None,
                    throughput_today_mwh: None,
                })?;
                let recent = window(market, at - TimeDelta::days(2), at + TimeDelta::minutes(15));
                let (decision, _) = core.decide(&recent, at)?;
                let left = battery.daily_throughput_budget_mwh() - throughput;
                let step = battery.step(soc_mwh, left, decision.power_mw, duration_h);
                soc_mwh = (soc_mwh + step.cell_in_mwh - step.cell_out_mwh)
                    .clamp(battery.soc_min_mwh(), battery.soc_max_mwh());
                throughput += step.cell_in_mwh + step.cell_out_mwh;
                let after = position + step.grid_energy_mwh;
                let profit = settle_increment(&price, position, after)
                    - battery.degradation_eur_per_mwh * (step.cell_in_mwh + step.cell_out_mwh);
                position = after;
                out.push(Replayed {
                    decision,
                    profit_eur: profit,
                });
            }
        }
    }
    Ok(out)
}

/// The rows of `market` from `from` to `to` (the decision only reads the last two days).
fn window(
    market: &MarketData,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> MarketData {
    let (a, b) = (
        market.qh.partition_point(|r| r.start_utc < from),
        market.qh.partition_point(|r| r.start_utc < to),
    );
    let (c, d) = (
        market.minutes.partition_point(|r| r.qh_start_utc < from),
        market.minutes.partition_point(|r| r.qh_start_utc < to),
    );
    MarketData {
        qh: market.qh[a..b].to_vec(),
        minutes: market.minutes[c..d].to_vec(),
        meta: market.meta.clone(),
    }
}
