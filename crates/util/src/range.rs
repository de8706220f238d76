//! Allowed ranges of numeric inputs: one value type that checks a number and says, in the
//! refusal, which key or flag it came from and what the range is. Every numeric setting of
//! imbarb (battery, training, CLI flags) is declared with one, so its documentation, its check
//! and its error message cannot drift apart.

use std::fmt;

/// A closed or half-open interval of allowed values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound.
    pub min: f64,
    /// Whether the lower bound itself is allowed.
    pub min_inclusive: bool,
    /// Upper bound.
    pub max: f64,
    /// Whether the upper bound itself is allowed.
    pub max_inclusive: bool,
}

/// A value outside its range (or not a number), with the key or flag that gave it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} = {value}: expected {expected}")]
pub struct OutOfRange {
    /// The config key or command-line flag.
    pub key: String,
    /// The value as given.
    pub value: String,
    /// The allowed range in words.
    pub expected: String,
}

impl Range {
    /// [min, max].
    pub const fn closed(min: f64, max: f64) -> Range {
        Range {
            min,
            min_inclusive: true,
            max,
            max_inclusive: true,
        }
    }

    /// (min, max]: a positive quantity up to a ceiling.
    pub const fn above(min: f64, max: f64) -> Range {
        Range {
            min,
            min_inclusive: false,
            max,
            max_inclusive: true,
        }
    }

    /// [min, max).
    pub const fn below(min: f64, max: f64) -> Range {
        Range {
            min,
            min_inclusive: true,
            max,
            max_inclusive: false,
        }
    }

    /// Whether `x` lies in the range (NaN never does).
    pub fn contains(&self, x: f64) -> bool {
        let low = if self.min_inclusive {
            x >= self.min
        } else {
            x > self.min
        };
        let high = if self.max_inclusive {
            x <= self.max
        } else {
            x < self.max
        };
        low && high
    }

    /// `x` if it lies in the range, else the refusal naming `key`.
    pub fn check(&self, key: &str, x: f64) -> Result<f64, OutOfRange> {
        if self.contains(x) {
            Ok(x)
        } else {
            Err(OutOfRange {
                key: key.to_string(),
                value: show_number(x),
                expected: self.to_string(),
            })
        }
    }
}

/// Writes a number compactly, as bounds and refused values are shown: `1e-6`, `0.5`, `10,000`,
/// `1e30`, `inf`, `NaN`.
pub fn show_number(x: f64) -> String {
    if x.is_finite() && x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
        format!("{x:e}")
    } else if x.fract() == 0.0 && x.abs() >= 1e4 {
        let digits = format!("{:.0}", x.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{}{out}", if x < 0.0 { "-" } else { "" })
    } else {
        format!("{x}")
    }
}

impl Range {
    /// The interval alone: `(0, 1]`, `[1, 16,384]`.
    pub fn interval(&self) -> String {
        format!(
            "{}{}, {}{}",
            if self.min_inclusive { '[' } else { '(' },
            show_number(self.min),
            show_number(self.max),
            if self.max_inclusive { ']' } else { ')' }
        )
    }
}

impl fmt::Display for Range {
    /// `a number in (0, 1]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number in {}", self.interval())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_or_not_as_declared_and_nan_is_never_in() {
        let r = Range::above(0.0, 1.0);
        assert!(
            !r.contains(0.0) && r.contains(1e-300) && r.contains(1.0) && !r.contains(1.0 + 1e-15)
        );
        assert!(!r.contains(f64::NAN) && !r.contains(f64::INFINITY));
        let c = Range::closed(-1.0, 1.0);
        assert!(c.contains(-1.0) && c.contains(1.0) && !c.contains(f64::NEG_INFINITY));
        let b = Range::below(0.0, 1.0);
        assert!(b.contains(0.0) && !b.contains(1.0));
    }

    #[test]
    fn refusals_name_the_key_value_and_range() {
        let e = Range::above(0.0, 1.0)
            .check("training.lr", 1e30)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "training.lr = 1e30: expected a number in (0, 1]"
        );
        let e = Range::closed(1.0, 10_000.0)
            .check("--power-mw", f64::NAN)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--power-mw = NaN: expected a number in [1, 10,000]"
        );
        let e = Range::closed(1.0, 1e10)
            .check("training.total_steps", u64::MAX as f64)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "training.total_steps = 1.8446744073709552e19: expected a number in [1, 1e10]"
        );
        assert_eq!(Range::closed(2.0, 101.0).check("levels", 101.0), Ok(101.0));
        assert_eq!(Range::above(0.0, 1e-4).to_string(), "a number in (0, 1e-4]");
    }
}
