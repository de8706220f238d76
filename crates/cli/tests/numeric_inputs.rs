//! Every numeric flag fed the values a hostile user would try (issue #29, classes 2 and 7):
//! infinities, NaN, zero, negatives, 1e30, 1e-30, u64::MAX, fractions. Each run must end without
//! a panic or abort, either refusing the value and naming its flag, or with a result inside
//! physical bounds: every number finite, no policy above the perfect-foresight optimum on the
//! same days, no more cycles than the cap allows.

mod common;

use common::{imbarb, stderr, stdout};

const SPECIAL: [&str; 12] = [
    "inf",
    "-inf",
    "NaN",
    "0",
    "-0.0",
    "-1",
    "1e30",
    "1e-30",
    "18446744073709551615",
    "0.5",
    "1.5",
    "3",
];

const FLAGS: [&str; 8] = [
    "--cap",
    "--power-mw",
    "--energy-mwh",
    "--efficiency",
    "--initial-soc",
    "--degradation",
    "--mpc-horizon",
    "--seed",
];

fn finite_numbers(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite(), "{path} = {n}");
        }
        // Undefined, and null by design: profit per cycle of a policy that does not cycle, share
        // of an optimum that earns nothing. Nothing else may be null.
        serde_json::Value::Null
            if path.ends_with(".eur_per_cycle") || path.ends_with(".pct_of_perfect") => {}
        serde_json::Value::Null => panic!("{path} is null (a non-finite number?)"),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| finite_numbers(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| finite_numbers(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

/// How one backtest with `args` ended.
enum Outcome {
    /// Refused, with the error text.
    Refused(String),
    /// Ran, with its JSON.
    Ran(serde_json::Value),
}

/// Backtests every policy on 4 synthetic test days with `args` added, and checks what holds
/// either way: no panic or abort; a success is finite and no policy beats the optimum.
fn backtest(actions: &str, args: &[&str]) -> Outcome {
    let split = "explicit:train=2023-01-01..2023-01-07,validation=2023-01-08..2023-01-10,test=2023-01-11..2023-01-14";
    let mut all = vec![
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-01-14",
        "--split",
        split,
        "--actions",
        actions,
        "--policy",
        "rule,schedule,mpc,idle,oracle",
        "--json",
    ];
    all.extend_from_slice(args);
    let o = imbarb(&all);
    let err = stderr(&o);
    let case = format!("{actions} {args:?}");
    assert!(!err.contains("panicked"), "{case}: {err}");
    match o.status.code() {
        Some(0) => {
            let v: serde_json::Value =
                serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{case}: {e}"));
            finite_numbers(&v, &case);
            let best = v["oracle"]["eur_per_day"].as_f64().unwrap();
            for m in v["metrics"].as_array().unwrap() {
                let eur = m["eur_per_day"].as_f64().unwrap();
                assert!(
                    eur <= best + 1e-6 * best.abs().max(1.0),
                    "{case}: {m} above {best}"
                );
            }
            Outcome::Ran(v)
        }
        Some(1) | Some(2) => Outcome::Refused(err),
        other => panic!("{case}: exit {other:?}: {err}"),
    }
}

#[test]
fn every_numeric_flag_refuses_with_its_name_or_stays_within_physics() {
    let (mut refused, mut ran) = (0, 0);
    for actions in ["continuous", "discrete:3"] {
        for flag in FLAGS {
            for value in SPECIAL {
                let arg = format!("{flag}={value}");
                match backtest(actions, &[&arg]) {
                    Outcome::Ran(v) => {
                        ran += 1;
                        if flag == "--cap" {
                            let cap: f64 = value.parse().unwrap();
                            for m in v["metrics"].as_array().unwrap() {
                                let cycles = m["cycles_per_day"].as_f64().unwrap();
                                assert!(cycles <= cap + 1e-6, "{arg}: {cycles} cycles a day");
                            }
                        }
                    }
                    Outcome::Refused(err) => {
                        refused += 1;
                        assert!(
                            err.contains(flag),
                            "{actions} {arg}: the refusal does not name {flag}: {err}"
                        );
                    }
                }
            }
        }
    }
    // Both outcomes occur: the ranges neither refuse everything nor let everything through.
    assert!(refused > 40 && ran > 40, "refused {refused}, ran {ran}");
}

/// The corners of the battery ranges together (a 1 kWh battery behind 10 GW, a 100 GWh one
/// behind almost nothing, 10 % efficiency, caps of 0 and 1,000) all run within physics.
#[test]
fn the_corners_of_the_battery_ranges_run_within_physics() {
    for actions in ["continuous", "discrete:3"] {
        for power in ["1e-30", "10000"] {
            for energy in ["0.001", "100000"] {
                for efficiency in ["0.1", "1"] {
                    for cap in ["0", "1000"] {
                        let args = [
                            format!("--power-mw={power}"),
                            format!("--energy-mwh={energy}"),
                            format!("--efficiency={efficiency}"),
                            format!("--cap={cap}"),
                        ];
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        if let Outcome::Refused(err) = backtest(actions, &args) {
                            panic!("{actions} {args:?} is within range but refused: {err}");
                        }
                    }
                }
            }
        }
    }
}
