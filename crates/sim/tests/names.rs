//! The names users type and read for granularity and action spaces round-trip, and what is not
//! a name is refused with the text that was written.

use imbarb_sim::{ActionSpace, Granularity, InitialSoc};

#[test]
fn granularity_and_actions_round_trip_through_their_names() {
    for g in [Granularity::Qh, Granularity::Minute] {
        assert_eq!(g.to_string().parse::<Granularity>(), Ok(g));
    }
    for a in [
        ActionSpace::Continuous,
        ActionSpace::Discrete { levels: 2 },
        ActionSpace::Discrete { levels: 11 },
    ] {
        assert_eq!(a.to_string().parse::<ActionSpace>(), Ok(a));
    }
    assert_eq!(
        ActionSpace::Discrete { levels: 3 }.to_string(),
        "discrete:3"
    );
}

#[test]
fn bad_names_are_refused_with_what_was_written() {
    for bad in ["discrete:1", "discrete:", "discrete:x", "Continuous", ""] {
        let err = bad.parse::<ActionSpace>().unwrap_err().to_string();
        assert!(err.contains(&format!("`{bad}`")), "{err}");
    }
    let err = "hour".parse::<Granularity>().unwrap_err().to_string();
    assert!(err.contains("`hour`") && err.contains("minute"), "{err}");
}

#[test]
fn the_soc_rule_reads_as_words() {
    let carry = InitialSoc::CarryOver {
        first_fraction: 0.5,
    };
    assert_eq!(carry.to_string(), "50 % at the start, carried over");
    let fixed = InitialSoc::Fixed { fraction: 0.25 };
    assert_eq!(fixed.to_string(), "25 % every day");
}
