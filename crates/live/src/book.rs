//! What a policy would have earned: a simulated battery following its set-points (the same battery
//! model as the simulator and the safety layer), each quarter-hour settled once its final price is
//! published, booked by Brussels day. The deployed model and every shadow keep one, so they are
//! compared on the same days, the same prices and the same accounting.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_market::calendar::local_day;
use imbarb_market::MarketData;
use imbarb_sim::BatteryConfig;
use std::collections::BTreeMap;

/// A quarter-hour's unsettled moves.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pending {
    qh_start: DateTime<Utc>,
    grid_mwh: f64,
    cell_mwh: f64,
}

/// A simulated battery and its settled P&L by day.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Book {
    battery: BatteryConfig,
    /// Cell energy, MWh.
    pub soc_mwh: f64,
    /// Cell throughput of the current day, MWh.
    pub throughput_mwh: f64,
    day: Option<NaiveDate>,
    pending: Vec<Pending>,
    /// Settled P&L per Brussels day, EUR (degradation included).
    pub days: BTreeMap<NaiveDate, f64>,
    /// Quarter-hours dropped unsettled (no final price a day after they ended).
    pub unsettled: usize,
}

/// Quarter-hours whose price is not published this long after they end are dropped unsettled.
const SETTLE_WITHIN: TimeDelta = TimeDelta::days(1);

impl Book {
    /// A book for `battery` starting at `soc_mwh`.
    pub fn new(battery: BatteryConfig, soc_mwh: f64) -> Book {
        Book {
            battery,
            soc_mwh,
            throughput_mwh: 0.0,
            day: None,
            pending: vec![],
            days: BTreeMap::new(),
            unsettled: 0,
        }
    }

    /// Full equivalent cycles used today.
    pub fn cycles_used(&self) -> f64 {
        self.battery.cycles_of(self.throughput_mwh)
    }

    /// Starts the day of `at` if it is a new one (the cycle budget restarts).
    pub fn start(&mut self, at: DateTime<Utc>) {
        let day = local_day(at);
        if self.day != Some(day) {
            self.day = Some(day);
            self.throughput_mwh = 0.0;
        }
    }

    /// Moves the book onto a measured state (the policy in control acts on the real battery).
    pub fn sync(&mut self, soc_mwh: f64, throughput_mwh: f64) {
        self.soc_mwh = soc_mwh;
        self.throughput_mwh = throughput_mwh;
    }

    /// Follows `power_mw` (> 0 discharge) from `at` for `duration_h`, as the battery would.
    pub fn follow(&mut self, at: DateTime<Utc>, power_mw: f64, duration_h: f64) {
        self.start(at);
        let b = &self.battery;
        let left = b.daily_throughput_budget_mwh() - self.throughput_mwh;
        let step = b.step(self.soc_mwh, left, power_mw, duration_h);
        self.soc_mwh = (self.soc_mwh + step.cell_in_mwh - step.cell_out_mwh)
            .clamp(b.soc_min_mwh(), b.soc_max_mwh());
        let cell = step.cell_in_mwh + step.cell_out_mwh;
        self.throughput_mwh += cell;
        let qh_start = DateTime::from_timestamp(at.timestamp() - at.timestamp().rem_euclid(900), 0)
            .unwrap_or(at);
        match self.pending.last_mut() {
            Some(p) if p.qh_start == qh_start => {
                p.grid_mwh += step.grid_energy_mwh;
                p.cell_mwh += cell;
            }
            _ => self.pending.push(Pending {
                qh_start,
                grid_mwh: step.grid_energy_mwh,
                cell_mwh: cell,
            }),
        }
    }

    /// Settles every pending quarter-hour whose final price `market` has published by `now`.
    pub fn settle(&mut self, market: &MarketData, now: DateTime<Utc>) {
        let degradation = self.battery.degradation_eur_per_mwh;
        let days = &mut self.days;
        let mut dropped = 0;
        self.pending.retain(|p| {
            let end = p.qh_start + TimeDelta::minutes(15);
            if end > now {
                return true;
            }
            match market.qh_index(p.qh_start) {
                Some(i) => {
                    let eur = imbarb_sim::settle(&market.qh[i].price, p.grid_mwh)
                        - degradation * p.cell_mwh;
                    *days.entry(local_day(p.qh_start)).or_default() += eur;
                    false
                }
                None if now - end > SETTLE_WITHIN => {
                    dropped += 1;
                    false
                }
                None => true,
            }
        });
        self.unsettled += dropped;
    }

    /// Forgets the P&L of `day` and the days before (closed and journaled).
    pub fn forget_through(&mut self, day: NaiveDate) {
        self.days.retain(|d, _| *d > day);
    }

    /// The settled P&L of `day`, EUR (0 when nothing was booked).
    pub fn day_eur(&self, day: NaiveDate) -> f64 {
        self.days.get(&day).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imbarb_market::{Market, Metadata, Pricing, QhPrice, QhRecord, Quality};

    fn market(prices: &[(DateTime<Utc>, f64)]) -> MarketData {
        MarketData {
            qh: prices
                .iter()
                .map(|&(start_utc, p)| QhRecord {
                    start_utc,
                    price: QhPrice::Single(p),
                    components: Default::default(),
                    quality: Quality::Validated,
                })
                .collect(),
            minutes: vec![],
            day_ahead: vec![],
            meta: Metadata {
                market: Market::BE,
                pricing: Pricing::Single,
                sources: vec![],
                synthetic: false,
                duplicates_dropped: 0,
            },
        }
    }

    #[test]
    fn a_quarter_hour_settles_at_its_price_once_published() {
        let b = BatteryConfig::default();
        let t0: DateTime<Utc> = "2024-07-01T10:00:00Z".parse().unwrap();
        let mut book = Book::new(b, b.first_soc_mwh());
        // Fifteen minutes of full discharge, booked minute by minute.
        for m in 0..15 {
            book.follow(t0 + TimeDelta::minutes(m), b.discharge_power_mw, 1.0 / 60.0);
        }
        let mut whole = Book::new(b, b.first_soc_mwh());
        whole.follow(t0, b.discharge_power_mw, 0.25);
        assert!((book.soc_mwh - whole.soc_mwh).abs() < 1e-9);
        let m = market(&[(t0, 100.0)]);
        // Not before the quarter-hour has ended.
        book.settle(&m, t0 + TimeDelta::minutes(14));
        assert!(book.days.is_empty());
        book.settle(&m, t0 + TimeDelta::minutes(15));
        let grid = b.discharge_power_mw * 0.25 * 1.0; // sold to the grid, MWh
        let cell = grid / b.discharge_efficiency;
        let expected = 100.0 * grid - b.degradation_eur_per_mwh * cell;
        let day = local_day(t0);
        assert!(
            (book.day_eur(day) - expected).abs() < 1e-6,
            "{} vs {expected}",
            book.day_eur(day)
        );
        // Settled once.
        book.settle(&m, t0 + TimeDelta::hours(1));
        assert!((book.day_eur(day) - expected).abs() < 1e-6);
    }

    #[test]
    fn a_price_never_published_is_dropped_after_a_day() {
        let b = BatteryConfig::default();
        let t0: DateTime<Utc> = "2024-07-01T10:00:00Z".parse().unwrap();
        let mut book = Book::new(b, b.first_soc_mwh());
        book.follow(t0, -b.charge_power_mw, 0.25);
        let empty = market(&[]);
        book.settle(&empty, t0 + TimeDelta::hours(2));
        assert_eq!(book.unsettled, 0);
        book.settle(&empty, t0 + TimeDelta::days(2));
        assert_eq!(book.unsettled, 1);
        assert!(book.days.is_empty());
    }
}
