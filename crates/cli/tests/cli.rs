//! End-to-end tests of the data, oracle, backtest and train commands, run as a user would.

mod common;

use common::{imbarb, stderr, stdout};
use std::path::Path;

#[test]
fn inspect_synthetic_as_json() {
    let o = imbarb(&[
        "data",
        "inspect",
        "synthetic:2023-03-01..2023-03-31:seed=3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["synthetic"], true);
    assert_eq!(v["coverage"]["complete_days"].as_array().unwrap().len(), 31);
    // March 2023 has the 92-QH spring-forward day.
    assert_eq!(v["coverage"]["qh_present"], 30 * 96 + 92);
    assert_eq!(v["coverage"]["qhs_per_day"]["92"], 1);
    assert!(v["price"]["mean"].as_f64().unwrap().is_finite());
    let text = imbarb(&["data", "inspect", "synthetic"]);
    assert!(
        stdout(&text).starts_with("SYNTHETIC DATA"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn synth_then_inspect_and_calibrate_keeps_the_synthetic_label() {
    let dir = tempfile::tempdir().unwrap();
    let qh = dir.path().join("qh.csv");
    let minutes = dir.path().join("minutes.csv");
    let q = qh.to_str().unwrap();
    let m = minutes.to_str().unwrap();
    let o = imbarb(&[
        "data",
        "synth",
        "--from",
        "2023-01-01",
        "--to",
        "2023-02-28",
        "--seed",
        "5",
        "--out",
        q,
        "--minutes-out",
        m,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("SYNTHETIC"));
    let o = imbarb(&["data", "inspect", q, m, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["synthetic"], true,
        "the label survives the file round trip"
    );
    assert_eq!(v["coverage"]["qh_present"], 59 * 96);
    assert_eq!(v["minutes"]["rows"], 59 * 96 * 15);
    assert_eq!(v["minutes"]["complete_quarter_hours"], 59 * 96);

    let params = dir.path().join("params.json");
    let o = imbarb(&[
        "data",
        "calibrate",
        q,
        "--minutes",
        m,
        "--out",
        params.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&params).unwrap()).unwrap();
    assert_eq!(
        p["hour_quantiles_eur_per_mwh"].as_array().unwrap().len(),
        24
    );
    // Re-generate from the fitted parameters.
    let again = dir.path().join("again.csv");
    let o = imbarb(&[
        "data",
        "synth",
        "--from",
        "2023-01-01",
        "--to",
        "2023-01-07",
        "--params",
        params.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn convert_raw_export_and_report_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("ods047.csv");
    std::fs::write(
        &raw,
        "\u{feff}DateTime;Quality status;Resolution code;Net regulation volume;System imbalance;Alpha;Marginal incremental price;Marginal decremental price;Strategic reserve price;Positive imbalance price;Negative imbalance price\n\
         2023-05-23T05:15:00+02:00;Not Validated;PT15M;-63.323;71.283;0.0;104.6;6.78;;6.78;6.78\n\
         2023-05-23T05:00:00+02:00;Not Validated;PT15M;91.794;-75.832;0.0;107.93;46.72;;107.93;107.93\n",
    )
    .unwrap();
    let out = dir.path().join("canonical.csv");
    let o = imbarb(&[
        "data",
        "convert",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("timestamp_utc,imbalance_price_eur_mwh,system_imbalance_mw"));
    assert!(
        lines[1].starts_with("2023-05-23T03:00:00Z,107.93,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("2023-05-23T03:15:00Z,6.78,"),
        "{}",
        lines[2]
    );

    std::fs::write(
        &raw,
        std::fs::read_to_string(&raw)
            .unwrap()
            .replace("107.93;107.93", "10x;107.93"),
    )
    .unwrap();
    let o = imbarb(&[
        "data",
        "convert",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("ods047.csv")
            && e.contains("line 3")
            && e.contains("Positive imbalance price")
            && e.contains("`10x`"),
        "{e}"
    );
    // The earlier output is untouched by the failed run.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);

    let o = imbarb(&["data", "inspect", "does-not-exist.csv"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does-not-exist.csv"), "{}", stderr(&o));
}

#[test]
fn help_texts_carry_examples() {
    for cmd in ["inspect", "convert", "synth", "calibrate"] {
        let o = imbarb(&["data", cmd, "--help"]);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Examples:"), "{cmd}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_imbarb")).exists());
}

#[test]
fn oracle_and_backtest_on_the_synthetic_market() {
    let data = "synthetic:2023-01-01..2023-02-28:seed=2";
    let o = imbarb(&[
        "oracle",
        "--data",
        data,
        "--actions",
        "discrete:3",
        "--soc",
        "fixed",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["method"].as_str().unwrap().starts_with("dp"));
    assert_eq!(v["synthetic"], true);
    let oracle_per_day = v["eur_per_day"].as_f64().unwrap();
    assert!(oracle_per_day > 0.0);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    let o = imbarb(&[
        "backtest",
        "--data",
        data,
        "--actions",
        "discrete:3",
        "--soc",
        "fixed",
        "--policy",
        "rule,idle,oracle",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = v["metrics"].as_array().unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["eur_per_day"].as_f64().unwrap(), 0.0);
    assert!((m[2]["pct_of_perfect"].as_f64().unwrap() - 100.0).abs() < 1e-6);
    assert!((m[2]["eur_per_day"].as_f64().unwrap() - oracle_per_day).abs() < 1e-6);
    let ledger = std::fs::read_to_string(out.join("rule_ledger.csv")).unwrap();
    assert!(ledger.starts_with("date,qh_start_utc,qh,"));
    assert!(out.join("oracle_daily.csv").exists());

    let text = imbarb(&["backtest", "--data", data, "--policy", "idle"]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(stdout(&text).contains("SYNTHETIC DATA") && stdout(&text).contains("EUR/day"));
    let bad = imbarb(&["backtest", "--data", data, "--policy", "magic"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("unknown policy `magic`"),
        "{}",
        stderr(&bad)
    );
    let bad = imbarb(&["oracle", "--data", data, "--actions", "discrete:1"]);
    assert!(stderr(&bad).contains("discrete:N"), "{}", stderr(&bad));
}

#[test]
fn train_then_backtest_the_run_and_resume_when_finished() {
    // A value agent and an actor-critic, on levels and on continuous power.
    for (algo, actions) in [
        ("qr-dqn", "{ kind = \"discrete\", levels = 3 }"),
        ("dsac", "{ kind = \"discrete\", levels = 3 }"),
        ("dsac", "{ kind = \"continuous\" }"),
    ] {
        train_then_backtest(algo, actions);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    // Bad input is named: a mistyped key, a missing run, another granularity.
    std::fs::write(&config, "algo = \"qr-dqn\"\n[training]\nstepz = 3\n").unwrap();
    let bad = imbarb(&["train", "--config", config.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("tiny.toml") && stderr(&bad).contains("stepz"),
        "{}",
        stderr(&bad)
    );
    let bad = imbarb(&[
        "backtest",
        "--policy",
        "run:/nonexistent/run",
        "--actions",
        "discrete:3",
    ]);
    assert!(
        stderr(&bad).contains("/nonexistent/run"),
        "{}",
        stderr(&bad)
    );
}

fn train_then_backtest(algo: &str, actions: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(
        &config,
        format!(
            "algo = \"{algo}\"\nseed = 1\n\
         [data]\nsources = [\"synthetic:2023-01-01..2023-02-28:seed=2\"]\n\
         [env]\nactions = {actions}\n\
         [network]\nhidden = [32, 32]\n\
         [training]\ntotal_steps = 3000\nenvs = 8\nbatch_size = 32\nlearning_starts = 300\n\
         validate_every = 1500\n"
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    let train = || {
        imbarb(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--quiet",
        ])
    };
    let o = train();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("best validation"), "{}", stdout(&o));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "finished");
    assert_eq!(manifest["seed"], 1);
    assert!(manifest["data_hash"].as_str().unwrap().len() >= 16);
    assert!(manifest["code_version"].as_str().unwrap().starts_with("0."));
    let lines = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(lines.lines().count() >= 2, "{lines}");
    assert!(run.join("config.toml").exists() && run.join("checkpoints/best.safetensors").exists());

    // Running again finds the finished run and does not retrain.
    let again = train();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl")).unwrap(),
        lines
    );

    // The trained run is a policy like any other, in discrete and continuous environments (a
    // continuous-power run only in continuous ones).
    let policy = format!("run:{},idle", run.display());
    let continuous = actions.contains("continuous");
    if continuous {
        let bad = imbarb(&[
            "backtest",
            "--data",
            "synthetic:2023-01-01..2023-02-28:seed=2",
            "--actions",
            "discrete:3",
            "--policy",
            &policy,
        ]);
        assert!(!bad.status.success());
        assert!(
            stderr(&bad).contains("--actions continuous"),
            "{}",
            stderr(&bad)
        );
        continuous_run_requests_any_power(&policy);
    }
    let spaces: &[&str] = if continuous {
        &["continuous"]
    } else {
        &["discrete:3", "continuous"]
    };
    for actions in spaces {
        let o = imbarb(&[
            "backtest",
            "--data",
            "synthetic:2023-01-01..2023-02-28:seed=2",
            "--actions",
            actions,
            "--policy",
            &policy,
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let m = v["metrics"].as_array().unwrap();
        assert!(
            m[0]["policy"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{algo}:run")),
            "{}",
            m[0]
        );
        assert!(m[0]["eur_per_day"].as_f64().unwrap().is_finite());
    }
    // Without --actions a backtest of runs takes their own action space...
    let own = imbarb(&[
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-02-28:seed=2",
        "--policy",
        &policy,
    ]);
    assert!(own.status.success(), "{}", stderr(&own));
    let expected = if continuous {
        "continuous actions"
    } else {
        "3-level actions"
    };
    assert!(stdout(&own).contains(expected), "{}", stdout(&own));
    // ... and asks for one when two runs disagree (a copy of the manifest with the other space).
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut m = manifest.clone();
    m["config"]["env"]["actions"] = if continuous {
        serde_json::json!({"kind": "discrete", "levels": 3})
    } else {
        serde_json::json!({"kind": "continuous"})
    };
    std::fs::write(other.join("manifest.json"), m.to_string()).unwrap();
    let bad = imbarb(&[
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-02-28:seed=2",
        "--policy",
        &format!("{policy},run:{}", other.display()),
    ]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("different action spaces") && stderr(&bad).contains("--actions"),
        "{}",
        stderr(&bad)
    );
    // A run trained on quarter-hours refuses minute decisions, by name.
    let bad = imbarb(&[
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-02-28:seed=2",
        "--granularity",
        "minute",
        "--policy",
        &format!("run:{}", run.display()),
    ]);
    assert!(stderr(&bad).contains("granularity"), "{}", stderr(&bad));
}

/// A continuous-power run's ledger holds powers between the levels, within rated power, with the
/// clipped column beside them.
fn continuous_run_requests_any_power(policy: &str) {
    let out = tempfile::tempdir().unwrap();
    let o = imbarb(&[
        "backtest",
        "--data",
        "synthetic:2023-01-01..2023-02-28:seed=2",
        "--actions",
        "continuous",
        "--policy",
        policy,
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ledger = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.contains("run") && name.ends_with("_ledger.csv")
        })
        .expect("the run's ledger");
    let text = std::fs::read_to_string(&ledger).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (power, clipped) = (col("power_mw"), col("clipped_mw"));
    let rows: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[power].parse().unwrap(), f[clipped].parse().unwrap())
        })
        .collect();
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|(p, c)| p.abs() <= 1.0 + 1e-9 && c.is_finite()));
    let between = rows
        .iter()
        .filter(|(p, _)| p.abs() > 0.01 && p.abs() < 0.99)
        .count();
    assert!(
        between > 0,
        "no power between the levels in {}",
        ledger.display()
    );
}

/// A backtest of a run that decides every minute takes the run's granularity, as it takes its
/// action space; asked for quarter-hours explicitly it refuses, naming the mismatch.
#[test]
fn backtest_takes_a_minute_runs_own_granularity() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("minute-run");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = "synthetic:2023-01-01..2023-02-28:seed=3:minutes";
    let config = root.join("configs/qrdqn-minute.toml");
    let trained = imbarb(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data,
        "--steps",
        "12000",
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let policy = format!("run:{},rule", run.display());
    let o = imbarb(&["backtest", "--data", data, "--policy", &policy]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("decisions every minute"),
        "{}",
        stdout(&o)
    );
    let qh = imbarb(&[
        "backtest",
        "--data",
        data,
        "--policy",
        &policy,
        "--granularity",
        "qh",
    ]);
    assert!(!qh.status.success());
    assert!(stderr(&qh).contains("granularity"), "{}", stderr(&qh));
}
