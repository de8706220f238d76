//! The day-ahead curve as a known-ahead input: where it sits on the price grid, how its small
//! gaps are filled (by rule, counted), and which part of it is public at a decision time (day
//! D's curve from D-1 at the publication time, Brussels).

use crate::days::MarketDays;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use imbarb_market::calendar::{day_ahead_published_utc, day_start_utc, qhs_in_day, QH_SECONDS};
use imbarb_market::MarketData;

/// The longest run of missing day-ahead quarter-hours filled with the price before it: two
/// hours, the clock-change artefact of real exports (the day-ahead market clears hourly, so the
/// hour before is the market's own last word). Longer gaps stay missing and their days are left
/// out of anything that reads the curve.
pub const MAX_DAY_AHEAD_FILL_QH: usize = 8;

/// The day-ahead curve on the grid of `grid_start` for `grid_len` quarter-hours plus two days
/// beyond (a decision at the end of the data looks ahead), NaN where missing, with gaps of up to
/// `MAX_DAY_AHEAD_FILL_QH` filled by the previous price. Returns the curve and how many
/// quarter-hours were filled. Empty when `data` has no day-ahead prices.
pub fn day_ahead_grid(
    data: &MarketData,
    grid_start: DateTime<Utc>,
    grid_len: usize,
) -> (Vec<f64>, usize) {
    if data.day_ahead.is_empty() {
        return (vec![], 0);
    }
    let len = grid_len + 2 * 100;
    let mut grid = vec![f64::NAN; len];
    for r in &data.day_ahead {
        let s = (r.start_utc - grid_start).num_seconds();
        if s >= 0 && s % QH_SECONDS == 0 && ((s / QH_SECONDS) as usize) < len {
            grid[(s / QH_SECONDS) as usize] = r.eur_per_mwh;
        }
    }
    let mut filled = 0;
    let mut i = 0;
    while i < len {
        if !grid[i].is_nan() {
            i += 1;
            continue;
        }
        let end = (i..len).find(|&j| !grid[j].is_nan()).unwrap_or(len);
        if i > 0 && end < len && end - i <= MAX_DAY_AHEAD_FILL_QH {
            let before = grid[i - 1];
            grid[i..end].fill(before);
            filled += end - i;
        }
        i = end;
    }
    (grid, filled)
}

/// When the day-ahead curve is public: day D's curve from D-1 at `published_at`, Brussels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayAheadRule {
    /// Brussels time on D-1 at which day D's curve is public.
    pub published_at: NaiveTime,
}

impl DayAheadRule {
    /// Reads `HH:MM` (Brussels time on the day before), as configs write it.
    pub fn parse(text: &str) -> Result<DayAheadRule, String> {
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(|published_at| DayAheadRule { published_at })
            .map_err(|_| {
                format!(
                    "day_ahead_published_at `{text}`: expected a Brussels time HH:MM on the day before, e.g. 12:45"
                )
            })
    }

    /// What is public during day `date` on `days`' grid: its own curve (published the day
    /// before), and the next day's from its publication time.
    pub fn ends(&self, days: &MarketDays, date: NaiveDate) -> KnownEnds {
        let Some(next) = date.succ_opt() else {
            let today = days.grid_index_at(day_start_utc(date)) + qhs_in_day(date);
            return KnownEnds {
                today,
                with_next: today,
                next_published: None,
            };
        };
        let today = days.grid_index_at(day_start_utc(next));
        KnownEnds {
            today,
            with_next: today + qhs_in_day(next),
            next_published: Some(day_ahead_published_utc(next, self.published_at)),
        }
    }
}

/// The public part of the day-ahead curve during one day (see `DayAheadRule::ends`).
#[derive(Debug, Clone, Copy)]
pub struct KnownEnds {
    /// Grid end of the day's own curve.
    pub today: usize,
    /// Grid end including the next day's curve.
    pub with_next: usize,
    /// When the next day's curve is published.
    pub next_published: Option<DateTime<Utc>>,
}

impl KnownEnds {
    /// The end (exclusive grid index) of the curve public at `now`.
    pub fn at(&self, now: DateTime<Utc>) -> usize {
        match self.next_published {
            Some(p) if now >= p => self.with_next,
            _ => self.today,
        }
    }
}

impl Default for DayAheadRule {
    fn default() -> Self {
        DayAheadRule {
            published_at: NaiveTime::from_hms_opt(12, 45, 0).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::Granularity;
    use chrono::TimeDelta;

    /// The end of the curve public at minute `minute` of grid quarter-hour `g` of `days`' first day.
    fn known_until(rule: &DayAheadRule, days: &MarketDays, g: usize, minute: usize) -> usize {
        let now = days.qh_start(g) + TimeDelta::minutes(minute as i64);
        rule.ends(days, days.days[0].date).at(now)
    }

    fn data(csv_da: &str) -> MarketData {
        let mut qh = String::from("timestamp_utc,imbalance_price_eur_mwh\n");
        // 2024-06-01 and 2024-06-02 Brussels (CEST: days start at 22:00Z the evening before).
        let start: DateTime<Utc> = "2024-05-31T22:00:00Z".parse().unwrap();
        for i in 0..192 {
            qh.push_str(&format!(
                "{},{}\n",
                (start + TimeDelta::minutes(15 * i)).to_rfc3339(),
                i
            ));
        }
        let mut d = imbarb_market::read_bytes("qh.csv", qh.as_bytes()).unwrap();
        d.day_ahead = imbarb_market::read_bytes("da.csv", csv_da.as_bytes())
            .unwrap()
            .day_ahead;
        d
    }

    /// Day D's curve is public from D-1 12:45 Brussels: before 12:45 on June 1 only June 1 is
    /// known, from 12:45 on June 2 too; a different configured time moves the boundary.
    #[test]
    fn the_next_days_curve_appears_at_its_publication_time() {
        let d = data("timestamp_utc,day_ahead_price_eur_mwh\n2024-05-31T22:00:00Z,1\n");
        let dates = ["2024-06-01".parse().unwrap(), "2024-06-02".parse().unwrap()];
        let days = MarketDays::new(&d, &dates, Granularity::Qh, 0).unwrap();
        let rule = DayAheadRule::default();
        // 12:30 Brussels = 10:30Z is QH 50 of the day; 12:45 is QH 51.
        assert_eq!(known_until(&rule, &days, 50, 14), 96);
        assert_eq!(known_until(&rule, &days, 51, 0), 192);
        let late = DayAheadRule::parse("13:05").unwrap();
        assert_eq!(known_until(&late, &days, 52, 4), 96);
        assert_eq!(known_until(&late, &days, 52, 5), 192);
        assert!(DayAheadRule::parse("25:00").is_err());
        assert!(DayAheadRule::parse("noon").unwrap_err().contains("noon"));
    }

    /// Gaps of up to two hours take the price before them (and are counted); longer gaps stay.
    #[test]
    fn short_gaps_are_filled_and_counted_long_ones_stay() {
        let mut csv = String::from("timestamp_utc,day_ahead_price_eur_mwh\n");
        let start: DateTime<Utc> = "2024-05-31T22:00:00Z".parse().unwrap();
        for i in (0..192).filter(|i| !(10..18).contains(i) && !(40..49).contains(i)) {
            csv.push_str(&format!(
                "{},{}\n",
                (start + TimeDelta::minutes(15 * i)).to_rfc3339(),
                i
            ));
        }
        let d = data(&csv);
        let (grid, filled) = day_ahead_grid(&d, start, 192);
        assert_eq!(filled, 8);
        assert!(grid[10..18].iter().all(|&v| v == 9.0));
        assert!(grid[40..49].iter().all(|v| v.is_nan()));
        assert!(
            grid[192..].iter().all(|v| v.is_nan()),
            "nothing beyond the file"
        );
    }
}
