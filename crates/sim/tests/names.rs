//! The names users type and read for granularity and action spaces round-trip, and what is not
//! a name is refused with the text that was written.

use imbarb_sim::features::MAX_LAGS;
use imbarb_sim::{ActionSpace, Granularity, InitialSoc, ObservationConfig};

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

/// Each battery parameter out of range is refused by name with its value, infinities and NaN
/// included; no Debug text of the whole config.
#[test]
fn a_bad_battery_names_its_parameter() {
    use imbarb_sim::{BatteryConfig, SimError};
    let ok = BatteryConfig::default();
    assert!(ok.check().is_ok());
    let cases: [(&str, BatteryConfig); 9] = [
        (
            "charge_power_mw",
            BatteryConfig {
                charge_power_mw: f64::INFINITY,
                ..ok
            },
        ),
        (
            "discharge_power_mw",
            BatteryConfig {
                discharge_power_mw: -1.0,
                ..ok
            },
        ),
        (
            "energy_mwh",
            BatteryConfig {
                energy_mwh: 0.0,
                ..ok
            },
        ),
        (
            "energy_mwh",
            BatteryConfig {
                energy_mwh: f64::NAN,
                ..ok
            },
        ),
        (
            "charge_efficiency",
            BatteryConfig {
                charge_efficiency: 1.5,
                ..ok
            },
        ),
        (
            "discharge_efficiency",
            BatteryConfig {
                discharge_efficiency: 0.0,
                ..ok
            },
        ),
        (
            "soc_max",
            BatteryConfig {
                soc_min: 0.5,
                soc_max: 0.4,
                ..ok
            },
        ),
        (
            "cycles_per_day",
            BatteryConfig {
                cycles_per_day: Some(f64::INFINITY),
                ..ok
            },
        ),
        (
            "degradation_eur_per_mwh",
            BatteryConfig {
                degradation_eur_per_mwh: f64::NAN,
                ..ok
            },
        ),
    ];
    for (field, b) in cases {
        match b.check() {
            Err(SimError::Battery { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
        let text = b.check().unwrap_err().to_string();
        assert!(text.starts_with(&format!("battery: {field} = ")), "{text}");
        assert!(!text.contains("BatteryConfig"), "{text}");
    }
    let soc = BatteryConfig {
        initial_soc: InitialSoc::Fixed { fraction: 1.2 },
        ..ok
    };
    assert!(soc
        .check()
        .unwrap_err()
        .to_string()
        .contains("initial SoC 1.2"));
}

/// Observation sizes beyond their bounds are refused by name (a typo would otherwise build
/// millions of columns), and the bounds themselves are allowed.
#[test]
fn observation_sizes_are_bounded_by_name() {
    for (key, at_max, over) in [
        (
            "last_prices",
            ObservationConfig {
                last_prices: MAX_LAGS,
                ..ObservationConfig::default()
            },
            ObservationConfig {
                last_prices: 1_000_000_000,
                ..ObservationConfig::default()
            },
        ),
        (
            "component_lags",
            ObservationConfig {
                component_lags: MAX_LAGS,
                ..ObservationConfig::default()
            },
            ObservationConfig {
                component_lags: MAX_LAGS + 1,
                ..ObservationConfig::default()
            },
        ),
        (
            "profile_ahead",
            ObservationConfig {
                profile_ahead: 192,
                ..ObservationConfig::default()
            },
            ObservationConfig {
                profile_ahead: 193,
                ..ObservationConfig::default()
            },
        ),
    ] {
        assert!(at_max.check().is_ok(), "{key}");
        let e = over.check().unwrap_err();
        assert!(e.contains(&format!("env.observation.{key} = ")), "{e}");
    }
}
