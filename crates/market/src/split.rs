//! Train / validation / test splits over Brussels calendar days: the paper's within-month split,
//! walk-forward (test from a date), and explicit date ranges.

use crate::coverage::{Coverage, IncompleteDay};
use crate::{DataError, Result};
use chrono::{Datelike, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

/// The part of the data a day belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Used to fit agents, thresholds and normalisation statistics.
    Train,
    /// Used to choose checkpoints and hyper-parameters.
    Validation,
    /// Held out; reported.
    Test,
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// First day, included.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
}

impl DateRange {
    /// True when `day` lies in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    fn overlaps(&self, other: &DateRange) -> bool {
        self.from <= other.to && other.from <= self.to
    }
}

/// How days are assigned to splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SplitSpec {
    /// Inside every month: days 1-20 train, 21-25 validation, 26-end test (the paper's protocol).
    Paper,
    /// Everything before `test_from` trains, except the last `validation_days` days before it,
    /// which validate; `test_from` and later is test.
    WalkForward {
        /// First test day.
        test_from: NaiveDate,
        /// Days just before `test_from` used for validation.
        #[serde(default = "default_validation_days")]
        validation_days: u32,
    },
    /// The user's view, month by month: for each month from `from` to `to`, train on every day
    /// before it except the last `validation_days`, which validate, and test on the month. An
    /// experiment trains one run per month (each warm-starting from the month before) and pools
    /// the test months; on its own (`assign`) it is the first month's window with every test
    /// month as test.
    WalkForwardMonthly {
        /// First test month (its first day).
        from: NaiveDate,
        /// Last test month (its first day).
        to: NaiveDate,
        /// Days just before each test month used for validation.
        #[serde(default = "default_validation_days")]
        validation_days: u32,
    },
    /// Explicit, non-overlapping ranges; days in none of them are unused.
    Explicit {
        /// Training ranges.
        train: Vec<DateRange>,
        /// Validation ranges.
        validation: Vec<DateRange>,
        /// Test ranges.
        test: Vec<DateRange>,
    },
}

/// The most validation days a walk-forward split may ask for: ten years (more is a typo, and
/// would reach dates the calendar cannot hold).
pub const MAX_VALIDATION_DAYS: u32 = 3_660;

fn default_validation_days() -> u32 {
    30
}

/// The command-line form `SplitSpec::parse` reads.
impl std::fmt::Display for SplitSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ranges = |rs: &[DateRange]| {
            rs.iter()
                .map(|r| format!("{}..{}", r.from, r.to))
                .collect::<Vec<_>>()
                .join("+")
        };
        match self {
            SplitSpec::Paper => f.write_str("paper"),
            SplitSpec::WalkForward {
                test_from,
                validation_days,
            } => write!(f, "walk-forward:{test_from}:{validation_days}"),
            SplitSpec::WalkForwardMonthly {
                from,
                to,
                validation_days,
            } => write!(
                f,
                "walk-forward-monthly:{}..{}:{validation_days}",
                from.format("%Y-%m"),
                to.format("%Y-%m")
            ),
            SplitSpec::Explicit {
                train,
                validation,
                test,
            } => write!(
                f,
                "explicit:train={},validation={},test={}",
                ranges(train),
                ranges(validation),
                ranges(test)
            ),
        }
    }
}

/// The command-line form (see `SplitSpec::parse`).
impl std::str::FromStr for SplitSpec {
    type Err = DataError;
    fn from_str(text: &str) -> Result<SplitSpec> {
        SplitSpec::parse(text)
    }
}

impl SplitSpec {
    /// Parses the command-line form: `paper`, `walk-forward:2023-06-01[:30]`, or
    /// `explicit:train=2022-07-10..2023-02-28,validation=2023-03-01..2023-03-31,test=2023-04-01..2023-08-31`
    /// (several ranges per split separated by `+`).
    pub fn parse(text: &str) -> Result<SplitSpec> {
        let bad = |why: &str| {
            DataError::Invalid(format!(
                "split `{text}`: {why}; expected `paper`, `walk-forward:YYYY-MM-DD[:VALIDATION_DAYS]`, \
                 `walk-forward-monthly:YYYY-MM..YYYY-MM[:VALIDATION_DAYS]` \
                 or `explicit:train=FROM..TO,validation=FROM..TO,test=FROM..TO`"
            ))
        };
        let date = |s: &str| {
            s.trim()
                .parse::<NaiveDate>()
                .map_err(|_| bad(&format!("`{s}` is not a date")))
        };
        let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
        let spec = match kind.trim() {
            "paper" if rest.is_empty() => SplitSpec::Paper,
            "walk-forward" => {
                let mut parts = rest.split(':');
                let test_from = date(parts.next().unwrap_or(""))?;
                let validation_days = match parts.next() {
                    Some(v) => v
                        .trim()
                        .parse()
                        .map_err(|_| bad(&format!("`{v}` is not a number of days")))?,
                    None => default_validation_days(),
                };
                if parts.next().is_some() {
                    return Err(bad("too many `:` parts"));
                }
                SplitSpec::WalkForward {
                    test_from,
                    validation_days,
                }
            }
            "walk-forward-monthly" => {
                let (months, validation) = match rest.split_once(':') {
                    Some((m, v)) => (m, Some(v)),
                    None => (rest, None),
                };
                let (a, b) = months
                    .split_once("..")
                    .ok_or_else(|| bad(&format!("`{months}` is not YYYY-MM..YYYY-MM")))?;
                let month = |s: &str| {
                    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
                        .map_err(|_| bad(&format!("`{s}` is not a month YYYY-MM")))
                };
                let (from, to) = (month(a)?, month(b)?);
                let validation_days = match validation {
                    Some(v) => v
                        .trim()
                        .parse()
                        .map_err(|_| bad(&format!("`{v}` is not a number of days")))?,
                    None => default_validation_days(),
                };
                if to < from {
                    return Err(bad("the last month comes before the first"));
                }
                if validation_days == 0 {
                    return Err(bad("a training window needs at least one validation day"));
                }
                SplitSpec::WalkForwardMonthly {
                    from,
                    to,
                    validation_days,
                }
            }
            "explicit" => {
                let (mut train, mut validation, mut test) = (vec![], vec![], vec![]);
                for part in rest.split(',').filter(|p| !p.trim().is_empty()) {
                    let (name, ranges) = part
                        .split_once('=')
                        .ok_or_else(|| bad(&format!("`{part}` lacks `=`")))?;
                    let target = match name.trim() {
                        "train" => &mut train,
                        "validation" => &mut validation,
                        "test" => &mut test,
                        other => return Err(bad(&format!("unknown split `{other}`"))),
                    };
                    for r in ranges.split('+') {
                        let (a, b) = r
                            .split_once("..")
                            .ok_or_else(|| bad(&format!("`{r}` is not FROM..TO")))?;
                        target.push(DateRange {
                            from: date(a)?,
                            to: date(b)?,
                        });
                    }
                }
                SplitSpec::Explicit {
                    train,
                    validation,
                    test,
                }
            }
            _ => return Err(bad("unknown kind")),
        };
        spec.check()?;
        Ok(spec)
    }

    /// Rejects empty or overlapping explicit ranges.
    pub fn check(&self) -> Result<()> {
        let validation_days = match self {
            SplitSpec::WalkForward {
                validation_days, ..
            }
            | SplitSpec::WalkForwardMonthly {
                validation_days, ..
            } => Some(*validation_days),
            _ => None,
        };
        if validation_days.is_some_and(|v| v > MAX_VALIDATION_DAYS) {
            return Err(DataError::Invalid(format!(
                "split `{self}`: {} validation days: expected at most {MAX_VALIDATION_DAYS}",
                validation_days.unwrap_or_default()
            )));
        }
        if let SplitSpec::WalkForwardMonthly { from, to, .. } = self {
            for month in [from, to] {
                if !(crate::MIN_YEAR..=crate::MAX_YEAR).contains(&month.year()) {
                    return Err(DataError::Invalid(format!(
                        "split `{self}`: month {} is outside the supported years {}..={}",
                        month.format("%Y-%m"),
                        crate::MIN_YEAR,
                        crate::MAX_YEAR
                    )));
                }
            }
        }
        if let SplitSpec::Explicit {
            train,
            validation,
            test,
        } = self
        {
            let all: Vec<(&str, &DateRange)> = train
                .iter()
                .map(|r| ("train", r))
                .chain(validation.iter().map(|r| ("validation", r)))
                .chain(test.iter().map(|r| ("test", r)))
                .collect();
            for (i, (na, a)) in all.iter().enumerate() {
                if a.from > a.to {
                    return Err(DataError::Invalid(format!(
                        "{na} range {}..{} ends before it starts",
                        a.from, a.to
                    )));
                }
                for (nb, b) in &all[i + 1..] {
                    if a.overlaps(b) {
                        return Err(DataError::Invalid(format!(
                            "{na} range {}..{} overlaps {nb} range {}..{}",
                            a.from, a.to, b.from, b.to
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The split of one day (`None`: unused by an explicit split).
    pub fn assign(&self, day: NaiveDate) -> Option<Split> {
        match self {
            SplitSpec::Paper => Some(match day.day() {
                1..=20 => Split::Train,
                21..=25 => Split::Validation,
                _ => Split::Test,
            }),
            SplitSpec::WalkForward {
                test_from,
                validation_days,
            } => {
                let validation_from = *test_from - TimeDelta::days(i64::from(*validation_days));
                Some(if day >= *test_from {
                    Split::Test
                } else if day >= validation_from {
                    Split::Validation
                } else {
                    Split::Train
                })
            }
            SplitSpec::WalkForwardMonthly {
                from,
                to,
                validation_days,
            } => {
                let end = month_end(*to);
                let validation_from = *from - TimeDelta::days(i64::from(*validation_days));
                Some(if day > end {
                    return None;
                } else if day >= *from {
                    Split::Test
                } else if day >= validation_from {
                    Split::Validation
                } else {
                    Split::Train
                })
            }
            SplitSpec::Explicit {
                train,
                validation,
                test,
            } => [
                (train, Split::Train),
                (validation, Split::Validation),
                (test, Split::Test),
            ]
            .into_iter()
            .find(|(ranges, _)| ranges.iter().any(|r| r.contains(day)))
            .map(|(_, s)| s),
        }
    }
}

/// The last day of the month starting at `first`.
fn month_end(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first)
}

/// One window of a monthly walk-forward: its test month and the split that trains for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthWindow {
    /// The test month, `YYYY-MM`.
    pub month: String,
    /// Train on every day before the month except the last validation days, validate on those,
    /// test on the month.
    pub split: SplitSpec,
}

impl SplitSpec {
    /// The monthly windows of a `WalkForwardMonthly` split, in order (`None` for other splits).
    pub fn month_windows(&self) -> Option<Vec<MonthWindow>> {
        let SplitSpec::WalkForwardMonthly {
            from,
            to,
            validation_days,
        } = self
        else {
            return None;
        };
        let mut out = vec![];
        let mut month = *from;
        while month <= *to {
            let validation_from = month - TimeDelta::days(i64::from(*validation_days));
            let earliest = NaiveDate::from_ymd_opt(crate::MIN_YEAR, 1, 1).unwrap_or(month);
            out.push(MonthWindow {
                month: month.format("%Y-%m").to_string(),
                split: SplitSpec::Explicit {
                    train: vec![DateRange {
                        from: earliest,
                        to: validation_from - TimeDelta::days(1),
                    }],
                    validation: vec![DateRange {
                        from: validation_from,
                        to: month - TimeDelta::days(1),
                    }],
                    test: vec![DateRange {
                        from: month,
                        to: month_end(month),
                    }],
                },
            });
            let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
                break;
            };
            month = next;
        }
        Some(out)
    }
}

/// The complete days of a series, divided into splits, with the days left out and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySplits {
    /// Complete training days.
    pub train: Vec<NaiveDate>,
    /// Complete validation days.
    pub validation: Vec<NaiveDate>,
    /// Complete test days.
    pub test: Vec<NaiveDate>,
    /// Complete days assigned to no split (explicit splits only).
    pub unassigned: Vec<NaiveDate>,
    /// Days excluded because they miss quarter-hours.
    pub excluded: Vec<IncompleteDay>,
}

impl DaySplits {
    /// Splits the complete days of `coverage` by `spec`.
    pub fn new(coverage: &Coverage, spec: &SplitSpec) -> DaySplits {
        let mut out = DaySplits {
            train: vec![],
            validation: vec![],
            test: vec![],
            unassigned: vec![],
            excluded: coverage.incomplete_days.clone(),
        };
        for &day in &coverage.complete_days {
            match spec.assign(day) {
                Some(Split::Train) => out.train.push(day),
                Some(Split::Validation) => out.validation.push(day),
                Some(Split::Test) => out.test.push(day),
                None => out.unassigned.push(day),
            }
        }
        out
    }

    /// The days of one split.
    pub fn days(&self, split: Split) -> &[NaiveDate] {
        match split {
            Split::Train => &self.train,
            Split::Validation => &self.validation,
            Split::Test => &self.test,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_round_trip_through_their_text() {
        for text in [
            "paper",
            "walk-forward:2023-06-01:30",
            "walk-forward-monthly:2024-07..2024-12:14",
            "explicit:train=2022-07-10..2023-02-28+2023-03-05..2023-03-09,validation=2023-03-01..2023-03-04,test=2023-04-01..2023-08-31",
        ] {
            let spec: SplitSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Each month trains on everything before it but its last validation days and tests on
    /// itself; the windows cover every test month once, in order, and never overlap their own
    /// test month with training or validation.
    #[test]
    fn monthly_walk_forward_windows() {
        let s = SplitSpec::parse("walk-forward-monthly:2024-07..2024-12:14").unwrap();
        let w = s.month_windows().unwrap();
        let months: Vec<&str> = w.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(
            months,
            ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
        );
        let aug = &w[1].split;
        assert_eq!(aug.assign(d("2024-07-17")), Some(Split::Train));
        assert_eq!(aug.assign(d("2022-07-17")), Some(Split::Train));
        assert_eq!(aug.assign(d("2024-07-18")), Some(Split::Validation));
        assert_eq!(aug.assign(d("2024-07-31")), Some(Split::Validation));
        assert_eq!(aug.assign(d("2024-08-01")), Some(Split::Test));
        assert_eq!(aug.assign(d("2024-08-31")), Some(Split::Test));
        assert_eq!(aug.assign(d("2024-09-01")), None);
        // The protocol on its own: the first window, all test months as test.
        assert_eq!(s.assign(d("2024-06-16")), Some(Split::Train));
        assert_eq!(s.assign(d("2024-06-17")), Some(Split::Validation));
        assert_eq!(s.assign(d("2024-12-31")), Some(Split::Test));
        assert_eq!(s.assign(d("2025-01-01")), None);
        assert!(SplitSpec::Paper.month_windows().is_none());
        for bad in [
            "walk-forward-monthly:2024-12..2024-07",
            "walk-forward-monthly:2024-07",
            "walk-forward-monthly:2024-13..2024-14",
            "walk-forward-monthly:2024-07..2024-08:0",
            "walk-forward-monthly:2024-07..2024-08:4000000000",
            "walk-forward-monthly:2024-07..2024-08:3661",
            "walk-forward-monthly:2024-07..9999-12:14",
            "walk-forward:2023-07-01:3661",
        ] {
            let e = SplitSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        // The largest validation window still computes its dates.
        let widest = SplitSpec::parse("walk-forward-monthly:2024-07..2024-08:3660").unwrap();
        assert_eq!(widest.month_windows().unwrap().len(), 2);
    }

    #[test]
    fn paper_split_boundaries() {
        let s = SplitSpec::Paper;
        assert_eq!(s.assign(d("2023-02-20")), Some(Split::Train));
        assert_eq!(s.assign(d("2023-02-21")), Some(Split::Validation));
        assert_eq!(s.assign(d("2023-02-25")), Some(Split::Validation));
        assert_eq!(s.assign(d("2023-02-26")), Some(Split::Test));
        assert_eq!(s.assign(d("2023-02-28")), Some(Split::Test));
        assert_eq!(s.assign(d("2023-03-01")), Some(Split::Train));
    }

    #[test]
    fn parse_forms_and_errors() {
        assert_eq!(SplitSpec::parse("paper").unwrap(), SplitSpec::Paper);
        assert_eq!(
            SplitSpec::parse("walk-forward:2023-06-01:10").unwrap(),
            SplitSpec::WalkForward {
                test_from: d("2023-06-01"),
                validation_days: 10
            }
        );
        let e =
            SplitSpec::parse("explicit:train=2023-01-01..2023-01-31,test=2023-01-15..2023-02-10")
                .unwrap_err()
                .to_string();
        assert!(e.contains("overlaps"), "{e}");
        let e = SplitSpec::parse("walk-forward:2023-13-01")
            .unwrap_err()
            .to_string();
        assert!(e.contains("2023-13-01"), "{e}");
        assert!(SplitSpec::parse("random").is_err());
        let s = SplitSpec::parse(
            "explicit:train=2023-01-01..2023-01-10+2023-02-01..2023-02-05,test=2023-03-01..2023-03-02",
        )
        .unwrap();
        assert_eq!(s.assign(d("2023-02-03")), Some(Split::Train));
        assert_eq!(s.assign(d("2023-01-20")), None);
        assert_eq!(s.assign(d("2023-03-02")), Some(Split::Test));
    }

    proptest! {
        #[test]
        fn every_day_lands_in_exactly_one_split(
            offset in 0i64..20_000,
            test_offset in 0i64..20_000,
            validation_days in 0u32..400,
        ) {
            let day = d("1990-01-01") + TimeDelta::days(offset);
            let test_from = d("1990-01-01") + TimeDelta::days(test_offset);
            for spec in [SplitSpec::Paper, SplitSpec::WalkForward { test_from, validation_days }] {
                let s = spec.assign(day);
                prop_assert!(s.is_some());
                let hits = [Split::Train, Split::Validation, Split::Test]
                    .iter()
                    .filter(|x| Some(**x) == s)
                    .count();
                prop_assert_eq!(hits, 1);
            }
        }

        #[test]
        fn walk_forward_never_trains_after_testing_starts(
            offset in 0i64..5_000, test_offset in 0i64..5_000, validation_days in 0u32..100,
        ) {
            let day = d("2020-01-01") + TimeDelta::days(offset);
            let test_from = d("2020-01-01") + TimeDelta::days(test_offset);
            let spec = SplitSpec::WalkForward { test_from, validation_days };
            let s = spec.assign(day).unwrap();
            prop_assert_eq!(s == Split::Test, day >= test_from);
            if s == Split::Train {
                prop_assert!(day < test_from - TimeDelta::days(i64::from(validation_days)));
            }
        }
    }
}
