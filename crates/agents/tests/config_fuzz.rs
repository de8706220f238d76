//! Every numeric training setting fed the values a hostile user would try (issue #29, class 2):
//! each config either loads with the value inside its documented range, or is refused with an
//! error that names the key. Never a panic, never an out-of-range value accepted.

use imbarb_agents::limits::TRAINING_LIMITS;
use imbarb_agents::TrainConfig;

const SPECIAL: [&str; 13] = [
    "inf",
    "-inf",
    "nan",
    "0",
    "-0.0",
    "-1",
    "1e30",
    "1e-30",
    "18446744073709551615",
    "9223372036854775807",
    "0.5",
    "2",
    "1000000",
];

/// The TOML that sets dotted `key` to `value` (tables and lists written out).
fn toml_setting(key: &str, value: &str) -> Option<String> {
    let (section, leaf) = key.split_once('.')?;
    let line = match key {
        "training.target.period" => format!("target = {{ kind = \"hard\", period = {value} }}"),
        "training.target.tau" => format!("target = {{ kind = \"polyak\", tau = {value} }}"),
        "distribution.support.v_min" => {
            format!("support = {{ kind = \"fixed\", v_min = {value}, v_max = 1e9 }}")
        }
        "distribution.support.v_max" => {
            format!("support = {{ kind = \"fixed\", v_min = -1e9, v_max = {value} }}")
        }
        "network.hidden" | "network.iqn_head_hidden" => format!("{leaf} = [{value}]"),
        "network.hidden (layers)" => return None,
        _ => format!("{leaf} = {value}"),
    };
    Some(format!("algo = \"iqn\"\n[{section}]\n{line}\n"))
}

#[test]
fn every_setting_is_in_range_or_refused_by_name() {
    let mut checked = 0;
    for limit in TRAINING_LIMITS {
        for value in SPECIAL {
            let Some(text) = toml_setting(limit.key, value) else {
                continue;
            };
            checked += 1;
            let leaf = limit.key.rsplit('.').next().unwrap_or(limit.key);
            match TrainConfig::from_toml(&text, "fuzz.toml") {
                Ok(config) => {
                    let v = (limit.get)(&config).expect("set");
                    assert!(
                        limit.range.contains(v),
                        "{} = {value} accepted as {v}, outside {}",
                        limit.key,
                        limit.range
                    );
                }
                Err(e) => {
                    assert!(e.starts_with("fuzz.toml"), "{e}");
                    // Refused by its range (the dotted key), or by the parser (the line with the
                    // key), or as a combination that names it.
                    let named = e.contains(limit.key) || e.contains(leaf);
                    assert!(named, "{} = {value}: {e}", limit.key);
                }
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

/// The edges of every range load (unless a combination with the defaults refuses them, which
/// the error then says): the ranges refuse only what they must.
#[test]
fn range_edges_load() {
    let mut loaded = 0;
    for limit in TRAINING_LIMITS {
        for edge in [limit.range.min, limit.range.max] {
            if !limit.range.contains(edge) {
                continue;
            }
            // Counts as integers (TOML does not read `1e10` as one), the others as floats.
            let value = if edge.fract() == 0.0 && edge.abs() < 1e15 && !limit.key.contains("lr") {
                format!("{edge:.0}")
            } else {
                format!("{edge:e}")
            };
            let Some(text) = toml_setting(limit.key, &value) else {
                continue;
            };
            match TrainConfig::from_toml(&text, "edge.toml") {
                Ok(_) => loaded += 1,
                Err(e) => assert!(
                    e.contains("would never update") || e.contains("need v_min < v_max"),
                    "{} = {value} is in range but refused: {e}",
                    limit.key
                ),
            }
        }
    }
    assert!(loaded > 60, "{loaded}");
}
