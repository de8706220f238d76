//! Market data arranged for simulation: the complete Brussels days as episodes on one global
//! 15-minute grid (so features can look back across midnight), with per-minute running estimates
//! for minute mode (real where Elia published all 15 minutes of a quarter-hour, otherwise a
//! surrogate: final price + a real ods161 residual path drawn by minute index).

use crate::error::SimError;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use imbarb_market::calendar::{day_qh_starts, QH_SECONDS};
use imbarb_market::synth::SynthParams;
use imbarb_market::{Component, Market, MarketData, Pricing, QhPrice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// When decisions are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One decision at each quarter-hour start, knowing final prices up to the previous QH.
    Qh,
    /// 15 decisions per quarter-hour, seeing the running estimate up to the previous minute.
    Minute,
}

impl Granularity {
    /// Decisions per quarter-hour.
    pub fn decisions_per_qh(self) -> usize {
        match self {
            Granularity::Qh => 1,
            Granularity::Minute => 15,
        }
    }

    /// Length of one decision, hours.
    pub fn duration_h(self) -> f64 {
        0.25 / self.decisions_per_qh() as f64
    }
}

/// The name users write and read: `qh` or `minute` (as in `--granularity` and configs).
impl std::fmt::Display for Granularity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Granularity::Qh => "qh",
            Granularity::Minute => "minute",
        })
    }
}

/// An unknown decision granularity, as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("granularity `{0}`: expected `qh` or `minute`")]
pub struct ParseGranularityError(pub String);

impl std::str::FromStr for Granularity {
    type Err = ParseGranularityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "qh" => Ok(Granularity::Qh),
            "minute" => Ok(Granularity::Minute),
            other => Err(ParseGranularityError(other.to_string())),
        }
    }
}

/// One episode: a complete Brussels day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Brussels calendar day.
    pub date: NaiveDate,
    /// Index of its first quarter-hour on the global grid.
    pub grid_offset: usize,
    /// Final settlement prices of its quarter-hours (92, 96 or 100).
    pub prices: Vec<QhPrice>,
}

impl Day {
    /// Number of quarter-hours.
    pub fn n_qh(&self) -> usize {
        self.prices.len()
    }
}

/// The days of a market on one global grid, ready for the simulator and feature builder.
#[derive(Debug, Clone)]
pub struct MarketDays {
    /// Complete days in chronological order.
    pub days: Vec<Day>,
    /// UTC start of grid index 0.
    pub grid_start: DateTime<Utc>,
    /// Reference price per grid quarter-hour (NaN where missing).
    pub grid_price: Vec<f64>,
    /// System components per grid quarter-hour (NaN where missing), in `Component::ALL` order.
    pub grid_components: Vec<[f64; 7]>,
    /// Which components appear anywhere in the data.
    pub components_present: [bool; 7],
    /// Day-ahead price per grid quarter-hour, running two days past the grid (NaN where
    /// missing; empty without day-ahead data). Gaps of up to `MAX_DAY_AHEAD_FILL_QH` hold the
    /// price before them.
    pub grid_day_ahead: Vec<f64>,
    /// Day-ahead quarter-hours filled by that rule.
    pub day_ahead_filled: usize,
    /// Per-minute running estimates, `grid_len x 15` (NaN where missing); empty unless prepared
    /// for minute mode.
    pub minute_estimates: Vec<f64>,
    /// Quarter-hours of the days whose running estimates are surrogate (not published data).
    pub surrogate_qhs: usize,
    /// Market of the data.
    pub market: Market,
    /// Pricing of the data.
    pub pricing: Pricing,
    /// True when the prices are synthetic.
    pub synthetic: bool,
}

impl MarketDays {
    /// Arranges `data`'s complete days `dates` (each must have all its quarter-hours). For
    /// `Granularity::Minute`, per-minute estimates come from `data.minutes` where a quarter-hour has
    /// all 15, else from the surrogate, drawn with `seed`.
    pub fn new(
        data: &MarketData,
        dates: &[NaiveDate],
        granularity: Granularity,
        seed: u64,
    ) -> Result<MarketDays, SimError> {
        let (Some(first), Some(last)) = (data.qh.first(), data.qh.last()) else {
            return Err(SimError::NoPrices);
        };
        let grid_start = first.start_utc;
        let grid_len = ((last.start_utc - grid_start).num_seconds() / QH_SECONDS) as usize + 1;
        let mut grid_price = vec![f64::NAN; grid_len];
        let mut grid_components = vec![[f64::NAN; 7]; grid_len];
        let mut present: Vec<Option<QhPrice>> = vec![None; grid_len];
        let mut components_present = [false; 7];
        for r in &data.qh {
            let i = ((r.start_utc - grid_start).num_seconds() / QH_SECONDS) as usize;
            grid_price[i] = r.price.reference_eur_per_mwh();
            present[i] = Some(r.price);
            for (k, c) in Component::ALL.iter().enumerate() {
                if let Some(v) = r.components.get(*c) {
                    grid_components[i][k] = v;
                    components_present[k] = true;
                }
            }
        }
        let index_of = |t: DateTime<Utc>| -> Option<usize> {
            let s = (t - grid_start).num_seconds();
            (s >= 0 && s % QH_SECONDS == 0 && ((s / QH_SECONDS) as usize) < grid_len)
                .then_some((s / QH_SECONDS) as usize)
        };
        let mut days = Vec::with_capacity(dates.len());
        for &date in dates {
            let starts = day_qh_starts(date);
            let offset = index_of(starts[0]).ok_or(SimError::DayOutsideData(date))?;
            let mut prices = Vec::with_capacity(starts.len());
            for (i, start) in starts.iter().enumerate() {
                prices.push(present.get(offset + i).copied().flatten().ok_or(
                    SimError::MissingQuarterHour {
                        date,
                        start: *start,
                    },
                )?);
            }
            days.push(Day {
                date,
                grid_offset: offset,
                prices,
            });
        }
        if days.windows(2).any(|w| w[0].date >= w[1].date) {
            return Err(SimError::DaysOutOfOrder);
        }
        let (grid_day_ahead, day_ahead_filled) =
            crate::day_ahead::day_ahead_grid(data, grid_start, grid_len);
        let mut md = MarketDays {
            days,
            grid_start,
            grid_price,
            grid_components,
            components_present,
            grid_day_ahead,
            day_ahead_filled,
            minute_estimates: vec![],
            surrogate_qhs: 0,
            market: data.meta.market,
            pricing: data.meta.pricing,
            synthetic: data.meta.synthetic,
        };
        if granularity == Granularity::Minute {
            md.prepare_minutes(data, seed)?;
        }
        Ok(md)
    }

    /// The running estimates `data` publishes for the first `n` grid quarter-hours, `n x 15`
    /// (NaN where none), and how many each quarter-hour has. What a deployed run reads; a
    /// backtest adds surrogates where a quarter-hour is incomplete (`prepare_minutes`).
    pub fn published_estimates(&self, data: &MarketData, n: usize) -> (Vec<f64>, Vec<u8>) {
        let mut est = vec![f64::NAN; n * 15];
        let mut count = vec![0u8; n];
        for m in &data.minutes {
            let Some(p) = m.price_estimate_eur_per_mwh else {
                continue;
            };
            let s = (m.qh_start_utc - self.grid_start).num_seconds();
            if s < 0 || s % QH_SECONDS != 0 || (s / QH_SECONDS) as usize >= n {
                continue;
            }
            let q = (s / QH_SECONDS) as usize;
            est[q * 15 + m.minute_in_qh() as usize] = p;
            count[q] += 1;
        }
        (est, count)
    }

    fn prepare_minutes(&mut self, data: &MarketData, seed: u64) -> Result<(), SimError> {
        let n = self.grid_price.len();
        let (mut est, complete) = self.published_estimates(data, n);
        let paths = SynthParams::embedded()?.minute_residual_paths;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005E_ED0F_3141);
        let mut in_days = vec![false; n];
        for d in &self.days {
            in_days[d.grid_offset..d.grid_offset + d.n_qh()].fill(true);
        }
        let mut surrogate = 0;
        for q in 0..n {
            let p = self.grid_price[q];
            if complete[q] >= 15 || p.is_nan() {
                continue;
            }
            let path = &paths[rng.gen_range(0..paths.len())];
            for (m, r) in path.iter().enumerate() {
                est[q * 15 + m] = p + r;
            }
            if in_days[q] {
                surrogate += 1;
            }
        }
        self.minute_estimates = est;
        self.surrogate_qhs = surrogate;
        Ok(())
    }

    /// The grid index of the quarter-hour starting at `t` (0 for anything before the grid).
    pub fn grid_index_at(&self, t: DateTime<Utc>) -> usize {
        ((t - self.grid_start).num_seconds() / QH_SECONDS).max(0) as usize
    }

    /// UTC start of grid quarter-hour `i`.
    pub fn qh_start(&self, i: usize) -> DateTime<Utc> {
        self.grid_start + TimeDelta::seconds(i as i64 * QH_SECONDS)
    }

    /// Splits day indices (chronological) into runs of consecutive calendar days: SoC carries over
    /// inside a run and restarts at the first-day SoC after a gap.
    pub fn consecutive_runs(&self, day_indices: &[usize]) -> Vec<Vec<usize>> {
        let mut runs: Vec<Vec<usize>> = vec![];
        for &d in day_indices {
            let date = self.days[d].date;
            match runs.last_mut() {
                Some(run)
                    if run
                        .last()
                        .is_some_and(|&p| self.days[p].date.succ_opt() == Some(date)) =>
                {
                    run.push(d)
                }
                _ => runs.push(vec![d]),
            }
        }
        runs
    }

    /// The day-ahead price of grid quarter-hour `i` (NaN where missing or beyond the data).
    pub fn day_ahead_at(&self, i: usize) -> f64 {
        self.grid_day_ahead.get(i).copied().unwrap_or(f64::NAN)
    }

    /// True when `day` has a day-ahead price for every quarter-hour.
    pub fn has_day_ahead_curve(&self, day: &Day) -> bool {
        (day.grid_offset..day.grid_offset + day.n_qh()).all(|i| !self.day_ahead_at(i).is_nan())
    }

    /// True when minute-mode estimates were prepared.
    pub fn has_minutes(&self) -> bool {
        !self.minute_estimates.is_empty()
    }
}
