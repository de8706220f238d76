//! The ranges of numeric flags that are not battery parameters (those are checked by the
//! battery itself and reported under their flag): each taken from the setting it overrides, so a
//! flag and its config key accept the same values.

use clap::builder::RangedU64ValueParser;
use imbarb_util::range::Range;

/// `--jobs`: training processes at a time.
pub fn jobs() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..=256)
}

/// `--steps`: `training.total_steps`.
pub fn steps() -> RangedU64ValueParser<usize> {
    let r = setting("training.total_steps");
    RangedU64ValueParser::new().range(r.min as u64..=r.max as u64)
}

/// `--cap`: the battery's `cycles_per_day`.
pub fn cycles() -> Range {
    setting("env.battery.cycles_per_day")
}

/// The range of a config key; an empty range if the key were ever renamed (and a test fails).
fn setting(key: &str) -> Range {
    imbarb_agents::limits::range_of(key).unwrap_or(Range::closed(1.0, 0.0))
}

#[cfg(test)]
mod tests {
    /// The keys the flags borrow their ranges from exist.
    #[test]
    fn every_borrowed_range_exists() {
        for key in ["training.total_steps", "env.battery.cycles_per_day"] {
            assert!(imbarb_agents::limits::range_of(key).is_some(), "{key}");
        }
        assert_eq!(super::cycles().max, 1_000.0);
    }
}
