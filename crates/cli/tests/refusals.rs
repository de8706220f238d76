//! What the command line refuses or reports, and how (issue #29, classes 2, 5 and 7): ledgers
//! never share a file, write failures say "cannot write" with the path once, data and `set`
//! errors name the file and key they came from, implausible prices are flagged, and the largest
//! allowed cap is no cap.

mod common;

use common::{imbarb, stderr, stdout};

#[test]
fn a_policy_given_twice_gets_two_ledgers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ledgers");
    let o = imbarb(&[
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-03-31",
        "--policy",
        "rule,idle,rule",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for stem in ["rule", "idle", "rule-2"] {
        assert!(out.join(format!("{stem}_ledger.csv")).exists(), "{stem}");
        assert!(out.join(format!("{stem}_daily.csv")).exists(), "{stem}");
    }
}

#[test]
fn a_failed_write_says_so_once_with_the_path() {
    let o = imbarb(&[
        "data",
        "synth",
        "--from",
        "2023-01-01",
        "--to",
        "2023-01-02",
        "--out",
        "/nonexistent-imbarb-dir/x.csv",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: cannot write /nonexistent-imbarb-dir/x.csv: No such file or directory (os error 2)\n"
    );
    let o = imbarb(&["data", "inspect", "/nonexistent-imbarb-dir/x.csv"]);
    assert_eq!(
        stderr(&o),
        "error: /nonexistent-imbarb-dir/x.csv: cannot read: No such file or directory (os error 2)\n"
    );
}

#[test]
fn data_errors_name_the_config_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "algo = \"qr-dqn\"\n[data]\nsplit = \"bogus\"\n").unwrap();
    let o = imbarb(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("r").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(e.contains("bad.toml: data.split: split `bogus`"), "{e}");
    std::fs::write(
        &config,
        "algo = \"qr-dqn\"\n[data]\nsources = [\"missing.csv\"]\n",
    )
    .unwrap();
    let o = imbarb(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("r").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml: data.sources: missing.csv: cannot read"),
        "{e}"
    );
}

#[test]
fn an_unknown_key_in_set_is_blamed_on_the_set() {
    let dir = tempfile::tempdir().unwrap();
    // The base config's third line is blank: an error pointing there would be a lie.
    std::fs::write(
        dir.path().join("q.toml"),
        "algo = \"qr-dqn\"\n\n\n[training]\ngamma = 0.99\n",
    )
    .unwrap();
    let file = dir.path().join("e.toml");
    std::fs::write(
        &file,
        "name = \"e\"\nseeds = [0]\ndata = [\"synthetic\"]\nbaselines = [\"rule\"]\n\
         [[agents]]\nname = \"q\"\nconfig = \"q.toml\"\nset = { training = { gama = 0.9 } }\n",
    )
    .unwrap();
    let o = imbarb(&[
        "experiment",
        file.to_str().unwrap(),
        "--evaluate-only",
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        e.contains("e.toml: agent `q`: `set`: unknown field `gama`"),
        "{e}"
    );
    assert!(!e.contains("line"), "{e}");
}

#[test]
fn inspect_flags_prices_beyond_the_plausible_bound() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.csv");
    std::fs::write(
        &file,
        "timestamp_utc,imbalance_price_eur_mwh\n2023-01-01T00:00:00Z,10\n\
         2023-01-01T00:15:00Z,20000\n2023-01-01T00:30:00Z,-16000\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = imbarb(&["data", "inspect", f]);
    assert!(
        stdout(&o).contains("WARNING  2 quarter-hour(s) priced beyond ±15000 EUR/MWh"),
        "{}",
        stdout(&o)
    );
    let o = imbarb(&["data", "inspect", f, "--plausible-price", "18000"]);
    assert!(
        stdout(&o).contains("WARNING  1 quarter-hour(s)"),
        "{}",
        stdout(&o)
    );
    let o = imbarb(&["data", "inspect", f, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["implausible"]["quarter_hours"], 2);
    let o = imbarb(&["data", "inspect", f, "--plausible-price", "inf"]);
    assert!(
        stderr(&o).contains("--plausible-price = inf"),
        "{}",
        stderr(&o)
    );
}

/// The largest cap the range allows changes nothing on a battery that cannot reach it (the
/// optimum of a capped LP is the uncapped one; a cap of 1e9 once moved it).
#[test]
fn the_largest_cap_is_no_cap() {
    let per_day = |extra: &[&str]| -> f64 {
        let mut args = vec![
            "oracle",
            "--data",
            "synthetic:2023-01-01..2023-03-31",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = imbarb(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["eur_per_day"].as_f64().unwrap()
    };
    let free = per_day(&[]);
    let capped = per_day(&["--cap", "1000"]);
    assert!(
        (free - capped).abs() <= 1e-6 * free.abs(),
        "{free} vs {capped}"
    );
}
