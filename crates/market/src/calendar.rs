//! The Europe/Brussels settlement calendar: local days of 92, 96 or 100 quarter-hours, the index of
//! a quarter-hour inside its day, its wall-clock slot, and the minute inside a quarter-hour.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Brussels;

/// Number of seconds in a quarter-hour.
pub const QH_SECONDS: i64 = 900;

/// The Brussels wall-clock time of each quarter-hour of `day`, as `HH:MM` (on the fall-back day
/// 02:00 to 02:45 appear twice; on the spring-forward day 02:00 to 02:45 do not appear).
pub fn day_clock_labels(day: NaiveDate) -> Vec<String> {
    day_qh_starts(day)
        .iter()
        .map(|t| t.with_timezone(&Brussels).format("%H:%M").to_string())
        .collect()
}

/// The Brussels calendar day a UTC instant falls in.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Brussels).date_naive()
}

/// The UTC instant of a Brussels wall-clock time: the earlier one when the clock shows it twice
/// (autumn), `None` when the clock skips it (spring).
fn brussels_to_utc(local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    match Brussels.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The UTC instant of local midnight starting `day`. Brussels changes clocks at 02:00/03:00, so
/// midnight always exists and is unique.
pub fn day_start_utc(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Not reachable for Brussels; fall back to the UTC reading rather than panic.
    brussels_to_utc(midnight).unwrap_or_else(|| midnight.and_utc())
}

/// When day `day`'s day-ahead curve becomes public: on the day before, at `published_at`
/// Brussels time (SDAC publishes about 12:45). A local time that does not exist (clock change)
/// is read an hour later.
pub fn day_ahead_published_utc(day: NaiveDate, published_at: chrono::NaiveTime) -> DateTime<Utc> {
    let before = day.pred_opt().unwrap_or(day).and_time(published_at);
    brussels_to_utc(before)
        .or_else(|| brussels_to_utc(before + TimeDelta::hours(1)))
        .unwrap_or_else(|| before.and_utc())
}

/// Number of quarter-hours in a Brussels local day: 92 (spring forward), 100 (fall back) or 96.
pub fn qhs_in_day(day: NaiveDate) -> usize {
    let next = day.succ_opt().unwrap_or(day);
    ((day_start_utc(next) - day_start_utc(day)).num_seconds() / QH_SECONDS) as usize
}

/// Position of the quarter-hour starting at `t` inside its local day, 0-based (0..qhs_in_day).
pub fn qh_of_day(t: DateTime<Utc>) -> usize {
    ((t - day_start_utc(local_day(t)))
        .num_seconds()
        .div_euclid(QH_SECONDS)) as usize
}

/// Wall-clock slot of the quarter-hour starting at `t`, 0..96 (hour * 4 + quarter). On the 100-QH
/// autumn day the repeated hour maps to the same slots twice; use it for time-of-day profiles.
pub fn wall_clock_slot(t: DateTime<Utc>) -> usize {
    let local = t.with_timezone(&Brussels);
    (local.hour() * 4 + local.minute() / 15) as usize
}

/// Minute within the quarter-hour, 0..15, of the minute starting at `t`.
pub fn minute_within_qh(t: DateTime<Utc>) -> u32 {
    (t.timestamp().rem_euclid(QH_SECONDS) / 60) as u32
}

/// The UTC starts of every quarter-hour of a local day, in order.
pub fn day_qh_starts(day: NaiveDate) -> Vec<DateTime<Utc>> {
    let start = day_start_utc(day);
    (0..qhs_in_day(day) as i64)
        .map(|i| start + TimeDelta::seconds(i * QH_SECONDS))
        .collect()
}

/// Day of week, Monday = 0.
pub fn weekday_index(day: NaiveDate) -> u32 {
    day.weekday().num_days_from_monday()
}

/// Iterates over every day from `from` to `to`, both included.
pub fn days_inclusive(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_labels_follow_the_brussels_clock() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let normal = day_clock_labels(d("2023-06-01"));
        assert_eq!(normal.len(), 96);
        assert_eq!(
            (normal[0].as_str(), normal[95].as_str()),
            ("00:00", "23:45")
        );
        // Spring forward: 01:45 is followed by 03:00.
        let spring = day_clock_labels(d("2023-03-26"));
        assert_eq!(spring.len(), 92);
        assert_eq!((spring[7].as_str(), spring[8].as_str()), ("01:45", "03:00"));
        // Fall back: 02:00-02:45 twice.
        let autumn = day_clock_labels(d("2023-10-29"));
        assert_eq!(autumn.len(), 100);
        assert_eq!(autumn.iter().filter(|l| l.as_str() == "02:30").count(), 2);
    }

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn dst_days_have_92_and_100_quarter_hours() {
        assert_eq!(qhs_in_day(d("2023-03-26")), 92);
        assert_eq!(qhs_in_day(d("2022-10-30")), 100);
        assert_eq!(qhs_in_day(d("2023-03-25")), 96);
        assert_eq!(qhs_in_day(d("2023-03-27")), 96);
        assert_eq!(day_qh_starts(d("2023-03-26")).len(), 92);
    }

    #[test]
    fn local_midnight_and_indices() {
        // 2023-03-26: CET until 01:00Z, then CEST.
        assert_eq!(day_start_utc(d("2023-03-26")), t("2023-03-25T23:00:00Z"));
        assert_eq!(day_start_utc(d("2023-03-27")), t("2023-03-26T22:00:00Z"));
        // Local 03:00 CEST = 01:00Z is the 9th QH (index 8) of the short day.
        assert_eq!(qh_of_day(t("2023-03-26T01:00:00Z")), 8);
        assert_eq!(wall_clock_slot(t("2023-03-26T01:00:00Z")), 12);
        assert_eq!(qh_of_day(t("2023-03-26T21:45:00Z")), 91);
        // 2022-10-30: local 02:00-02:59 occurs twice (00:00Z CEST and 01:00Z CET).
        assert_eq!(local_day(t("2022-10-29T22:00:00Z")), d("2022-10-30"));
        assert_eq!(qh_of_day(t("2022-10-30T00:00:00Z")), 8);
        assert_eq!(qh_of_day(t("2022-10-30T01:00:00Z")), 12);
        assert_eq!(wall_clock_slot(t("2022-10-30T00:00:00Z")), 8);
        assert_eq!(wall_clock_slot(t("2022-10-30T01:00:00Z")), 8);
        assert_eq!(qh_of_day(t("2022-10-30T22:45:00Z")), 99);
        assert_eq!(minute_within_qh(t("2023-01-01T10:37:00Z")), 7);
        assert_eq!(weekday_index(d("2023-01-02")), 0);
    }

    #[test]
    fn every_quarter_hour_of_a_year_gets_a_valid_index() {
        let mut t0 = t("2022-01-01T00:00:00Z");
        let end = t("2024-01-01T00:00:00Z");
        while t0 < end {
            let day = local_day(t0);
            let i = qh_of_day(t0);
            assert!(i < qhs_in_day(day));
            assert_eq!(day_qh_starts(day)[i], t0);
            t0 += TimeDelta::minutes(15);
        }
    }
}
