//! Paper trading on recorded days: the service's core driven by a simulated clock over recorded
//! market data (each row "published" at its real publication time) and a simulated battery
//! that follows every set-point and reports its SoC before each decision. The same code as live,
//! so a replay is what the service would have done.

use crate::journal::{DecisionEvent, TelemetryEvent};
use crate::safety::SafeSetPoint;
use crate::service::{LiveCore, LiveError};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_market::calendar::day_qh_starts;
use imbarb_market::{MarketData, QhPrice};
use imbarb_sim::{settle_increment, BatteryConfig, Granularity};

/// One replayed decision with the simulated battery's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The decision as journaled.
    pub decision: DecisionEvent,
    /// What the safety layer made of the proposal.
    pub set_point: SafeSetPoint,
    /// What the settlement paid for it, minus degradation, EUR.
    pub profit_eur: f64,
}

/// A replay in progress: the decision times still to come and the simulated battery.
pub struct Replay {
    times: Vec<(DateTime<Utc>, QhPrice, bool)>,
    next: usize,
    battery: BatteryConfig,
    duration_h: f64,
    soc_mwh: f64,
    throughput_mwh: f64,
    position_mwh: f64,
    pnl_day_eur: f64,
    day: Option<NaiveDate>,
}

impl Replay {
    /// A replay of `days` (Brussels dates, in order) of `market`, the simulated battery
    /// starting at `soc_mwh`. Quarter-hours without a price are skipped.
    pub fn new(
        market: &MarketData,
        days: &[NaiveDate],
        battery: BatteryConfig,
        granularity: Granularity,
        soc_mwh: f64,
    ) -> Replay {
        let mut times = vec![];
        for &day in days {
            for qh_start in day_qh_starts(day) {
                let Some(i) = market.qh_index(qh_start) else {
                    continue;
                };
                for m in 0..granularity.decisions_per_qh() {
                    times.push((
                        qh_start + TimeDelta::minutes(m as i64),
                        market.qh[i].price,
                        m == 0,
                    ));
                }
            }
        }
        Replay {
            times,
            next: 0,
            battery,
            duration_h: granularity.duration_h(),
            soc_mwh,
            throughput_mwh: 0.0,
            position_mwh: 0.0,
            pnl_day_eur: 0.0,
            day: None,
        }
    }

    /// Decisions in all, and done so far.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.times.len())
    }

    /// The next decision time, if any.
    pub fn next_time(&self) -> Option<DateTime<Utc>> {
        self.times.get(self.next).map(|t| t.0)
    }

    /// Runs the next decision through `core`: telemetry from the simulated battery, the
    /// decision on what `market` had published, the battery following it. `None` when done.
    pub fn step(
        &mut self,
        core: &mut LiveCore,
        market: &MarketData,
    ) -> Result<Option<Replayed>, LiveError> {
        let Some(&(at, price, qh_start)) = self.times.get(self.next) else {
            // The last day closes at its end, when its last price is published.
            if let Some(day) = self.day.take() {
                let end = imbarb_market::calendar::day_start_utc(day.succ_opt().unwrap_or(day));
                core.finish(market, end)?;
            }
            return Ok(None);
        };
        self.next += 1;
        let day = imbarb_market::calendar::local_day(at);
        if self.day != Some(day) {
            self.day = Some(day);
            self.throughput_mwh = 0.0;
            self.pnl_day_eur = 0.0;
        }
        if qh_start {
            self.position_mwh = 0.0;
        }
        // A resumed replay does not re-send what the journal already holds.
        if core.last_telemetry().is_none_or(|t| t < at) {
            core.telemetry(TelemetryEvent {
                at,
                soc_mwh: self.soc_mwh,
                available_mw: None,
                throughput_today_mwh: None,
            })?;
        }
        let back = TimeDelta::days(i64::from(core.history_days()));
        let recent = market.between(at - back, at + TimeDelta::minutes(15));
        let (decision, set_point) = core.decide(&recent, at)?;
        let b = &self.battery;
        let left = b.daily_throughput_budget_mwh() - self.throughput_mwh;
        let step = b.step(self.soc_mwh, left, decision.power_mw, self.duration_h);
        self.soc_mwh = (self.soc_mwh + step.cell_in_mwh - step.cell_out_mwh)
            .clamp(b.soc_min_mwh(), b.soc_max_mwh());
        let cell = step.cell_in_mwh + step.cell_out_mwh;
        self.throughput_mwh += cell;
        let after = self.position_mwh + step.grid_energy_mwh;
        let profit =
            settle_increment(&price, self.position_mwh, after) - b.degradation_eur_per_mwh * cell;
        self.position_mwh = after;
        // Settled: the daily-loss guard of the next decision reads it.
        self.pnl_day_eur += profit;
        core.set_pnl_today(self.pnl_day_eur);
        Ok(Some(Replayed {
            decision,
            set_point,
            profit_eur: profit,
        }))
    }
}

/// Replays `days` of `market` through `core` to the end; every decision with its settlement.
pub fn replay(
    core: &mut LiveCore,
    market: &MarketData,
    days: &[NaiveDate],
    battery: &BatteryConfig,
    granularity: Granularity,
    soc_mwh: f64,
) -> Result<Vec<Replayed>, LiveError> {
    let mut r = Replay::new(market, days, *battery, granularity, soc_mwh);
    let mut out = vec![];
    while let Some(x) = r.step(core, market)? {
        out.push(x);
    }
    Ok(out)
}
