//! End-to-end tests of the `imbarb data` commands, run as a user would.

use std::path::Path;
use std::process::{Command, Output};

fn imbarb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(args)
        .output()
        .expect("run imbarb")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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

/// `imbarb experiment`: a grid of two agents (levels and continuous power) x two caps x two seeds
/// trains, backtests beside the baselines in each run's own action space, writes results.csv and
/// results.md, and a second call trains nothing.
#[test]
fn an_experiment_trains_its_grid_and_summarises_it_over_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = dir.path().join("grid.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"grid\"\nseeds = [0, 1]\ncaps = [\"none\", 1.1]\n\
             data = [\"synthetic:2023-01-01..2023-02-28:seed=2\"]\n\
             baselines = [\"rule\", \"oracle\"]\n\
             [[agents]]\nname = \"qr\"\nconfig = \"{q}\"\nsteps = 1500\n\
             [[agents]]\nname = \"dsac-c\"\nconfig = \"{d}\"\nsteps = 1500\n\
             risk = {{ kind = \"mean-plus-cvar\", alpha = 0.1, beta = 1.0 }}\n",
            q = root.join("configs/qrdqn.toml").display(),
            d = root.join("configs/dsac-continuous.toml").display(),
        ),
    )
    .unwrap();
    let out = dir.path().join("exp");
    let run = || {
        imbarb(&[
            "experiment",
            file.to_str().unwrap(),
            "--jobs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    // 4 groups (2 caps x 2 action spaces), each with 2 baselines and 2 seeds of its agent.
    assert_eq!(rows.len(), 4 * (2 + 2), "{csv}");
    let agents: Vec<&Vec<String>> = rows.iter().filter(|r| r[2] == "agent").collect();
    assert_eq!(agents.len(), 8);
    for r in &agents {
        let eur: f64 = r[4].parse().unwrap();
        assert!(eur.is_finite());
        // Continuous-power runs sit in the continuous groups, the others on 3 levels.
        assert_eq!(r[0].contains("continuous"), r[1] == "dsac-c", "{r:?}");
    }
    // In every group the oracle's replay earns the most, and at most the optimum (with a cap on
    // levels the optimum is the continuous bound, so the replay may fall short of 100 %).
    for r in rows.iter().filter(|r| r[1] == "oracle") {
        let pct: f64 = r[5].parse().unwrap();
        assert!(pct > 50.0 && pct <= 100.0 + 1e-6, "{r:?}");
        let eur: f64 = r[4].parse().unwrap();
        for other in rows.iter().filter(|o| o[0] == r[0]) {
            assert!(
                other[4].parse::<f64>().unwrap() <= eur + 1e-6,
                "{other:?} vs {r:?}"
            );
        }
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        md.contains("| qr | 2 | ") && md.contains("| dsac-c | 2 | "),
        "{md}"
    );
    assert!(md.contains(" ± "), "{md}");
    // The file adds each agent's training speed over its four runs; the printed table, the
    // same on every machine, does not.
    let speed = md
        .split("## Training speed")
        .nth(1)
        .expect("a training speed section");
    assert!(
        speed.contains("| qr | 4 | ") && speed.contains("| dsac-c | 4 | "),
        "{speed}"
    );
    assert!(!stdout(&o).contains("Training speed") && stdout(&o).contains("| qr | 2 | "));
    assert!(out.join("runs/dsac-c-cap1.1-seed1/manifest.json").exists());
    let saved = std::fs::read_to_string(out.join("configs/dsac-c-cap1.1.toml")).unwrap();
    assert!(saved.contains("mean-plus-cvar") && saved.contains("cycles_per_day = 1.1"));

    // The report: every group's results, cumulative and daily P&L, frontier and three
    // representative days, plus four training panels per agent (validation, training return,
    // loss, exploration or temperature), all inline SVG.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        4 * 6 + 2 * 4,
        "charts in the report"
    );
    assert!(page.contains("dsac-c: temperature") && page.contains("qr: exploration"));
    assert!(!page.contains("chart not drawn"));
    assert!(page.contains("qr-cap1.1-seed1") && page.contains("<details>"));

    // Again: every run is finished, nothing retrains, the results are the same; the report
    // rebuilds from evaluation.json alone. A run directory the grid does not name (an agent
    // since removed from the file) counts in neither the speeds nor the report.
    let metrics = out.join("runs/qr-capnone-seed0/metrics.jsonl");
    let before = std::fs::read_to_string(&metrics).unwrap();
    let stray = out.join("runs/gone-capnone-seed0");
    std::fs::create_dir_all(&stray).unwrap();
    for f in ["manifest.json", "metrics.jsonl"] {
        std::fs::copy(out.join("runs/qr-capnone-seed0").join(f), stray.join(f)).unwrap();
    }
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&metrics).unwrap(), before);
    assert_eq!(
        std::fs::read_to_string(out.join("results.csv")).unwrap(),
        csv
    );
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        !md.contains("| gone |") && md.contains("| qr | 4 | "),
        "{md}"
    );
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = imbarb(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        page
    );
    let bad = imbarb(&["report", dir.path().to_str().unwrap()]);
    assert!(stderr(&bad).contains("evaluation.json"), "{}", stderr(&bad));

    // `--agents qr`: only qr's runs are reported (its rows and its groups' baselines, unchanged);
    // an agent the file lacks is an error listing the ones it has.
    let only = |agents: &str| {
        imbarb(&[
            "experiment",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--agents",
            agents,
        ])
    };
    let o = only("qr");
    assert!(o.status.success(), "{}", stderr(&o));
    let subset = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let qr_groups: Vec<&str> = csv
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("qr"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let expected: Vec<&str> = csv
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || qr_groups.contains(&l.split(',').next().unwrap()))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(subset.lines().collect::<Vec<_>>(), expected, "{subset}");
    assert!(!subset.contains("dsac-c"), "{subset}");
    let o = only("qr,nope");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("--agents") && err.contains("\"nope\"") && err.contains("dsac-c, qr"),
        "{err}"
    );
}

/// The quickstart writes an experiment of QR-DQN and DSAC, trains it, and prints and writes the
/// table of both agents beside the baselines and the oracle; run again, it trains nothing and
/// prints the same table.
#[test]
fn quickstart_trains_both_agents_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qs");
    let args = [
        "quickstart",
        "--data",
        "synthetic:2023-01-01..2023-03-31:seed=4",
        "--steps",
        "3000",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = imbarb(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    for row in [
        "| qrdqn | 1 | ",
        "| dsac | 1 | ",
        "| mpc | 1 | ",
        "| oracle | 1 | ",
    ] {
        assert!(table.contains(row), "{row}: {table}");
    }
    assert!(!table.contains("{ "), "no Debug text: {table}");
    let file = std::fs::read_to_string(out.join("quickstart.toml")).unwrap();
    assert!(file.contains("data = [\"synthetic:2023-01-01..2023-03-31:seed=4\"]"));
    assert!(out.join("report.html").exists() && out.join("results.csv").exists());
    let again = imbarb(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), table);
    assert!(
        stderr(&again).contains("already finished"),
        "{}",
        stderr(&again)
    );
}

/// `belgium` is the embedded real Belgian prices, usable wherever data is named: the test days
/// of the paper split, and their perfect-foresight optimum (exact DP on 3 levels).
#[test]
fn the_embedded_belgian_prices_need_no_download() {
    let o = imbarb(&[
        "oracle",
        "--data",
        "belgium",
        "--actions",
        "discrete:3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["synthetic"], false);
    assert_eq!(v["days"], 75);
    // The README's perfect-foresight figure on these days: 2,028.1 EUR/day.
    let per_day = v["eur_per_day"].as_f64().unwrap();
    assert!((per_day - 2028.1).abs() < 0.1, "{per_day}");
}

/// `config show` prints every shipped config with a doc on every field, as a config that parses
/// back to the same values; a name that is neither a file nor an algorithm is refused.
#[test]
fn config_show_documents_every_field_and_round_trips() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let o = imbarb(&["config", "show", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.lines().filter(|l| l.contains(" = ")).count() > 60,
            "{text}"
        );
        let copy = dir.path().join("shown.toml");
        std::fs::write(&copy, &text).unwrap();
        // Shown again from its own output: the same text, so the same values.
        let shown = imbarb(&["config", "show", copy.to_str().unwrap()]);
        assert_eq!(stdout(&shown), text, "{}", path.display());
    }
    let o = imbarb(&["config", "show", "qr-dqn"]);
    assert!(stdout(&o).contains("algo = \"qr-dqn\""));
    let bad = imbarb(&["config", "show", "magic"]);
    assert!(!bad.status.success() && stderr(&bad).contains("`magic`"));
}
