//! End-to-end tests of experiments, the quickstart, the embedded prices and `config show`, run
//! as a user would.

mod common;

use common::{imbarb, stderr, stdout};

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
             set = {{ training = {{ learning_starts = 500 }} }}\n\
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

/// The walk-forward protocol, month by month: each test month gets its own run trained on the
/// days before it (the second warm-starting from the first, with the warm-start budget), the
/// baselines and the oracle are refit and solved per month, and the summary pools the months
/// (pooled EUR/day = the day-weighted mean of the months'), with a per-month table. A single
/// backtest refuses the protocol and says where it runs.
#[test]
fn a_monthly_walk_forward_experiment_retrains_month_by_month_and_pools() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = dir.path().join("wf.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"wf\"\nseeds = [0]\n\
             data = [\"synthetic:2023-01-01..2023-04-30:seed=4\"]\n\
             baselines = [\"rule\", \"mpc\", \"oracle\"]\n\
             set = {{ data = {{ split = \"walk-forward-monthly:2023-03..2023-04:7\" }}, training = {{ learning_starts = 500, warm_start_steps = 800, validate_every = 800 }} }}\n\
             [[agents]]\nname = \"qr\"\nconfig = \"{q}\"\nsteps = 1600\n",
            q = root.join("configs/qrdqn.toml").display(),
        ),
    )
    .unwrap();
    let out = dir.path().join("exp");
    let o = imbarb(&[
        "experiment",
        file.to_str().unwrap(),
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (march, april) = (
        out.join("runs/qr-capnone-seed0-2023-03"),
        out.join("runs/qr-capnone-seed0-2023-04"),
    );
    let manifest = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json")).unwrap()).unwrap()
    };
    let (m3, m4) = (manifest(&march), manifest(&april));
    assert_eq!(m3["status"], "finished");
    assert_eq!(m4["status"], "finished");
    assert!(m4["train_days"].as_u64() > m3["train_days"].as_u64());
    let c4 = &m4["config"]["training"];
    assert_eq!(c4["warm_start"], march.display().to_string());
    assert_eq!(c4["total_steps"], 800);
    assert_eq!(c4["epsilon_start"], c4["epsilon_end"]);
    assert!(m3["config"]["training"]["warm_start"].is_null());

    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap())
            .unwrap();
    let g = &e["groups"][0];
    let periods = g["periods"].as_array().unwrap();
    let labels: Vec<&str> = periods
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2023-03", "2023-04"]);
    let days: Vec<f64> = periods
        .iter()
        .map(|p| p["days"].as_f64().unwrap())
        .collect();
    assert_eq!(
        g["dates"].as_array().unwrap().len() as f64,
        days[0] + days[1]
    );
    for name in ["rule", "mpc", "oracle", "qr"] {
        let month: Vec<f64> = periods
            .iter()
            .map(|p| {
                p["policies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["name"] == name)
                    .unwrap()["eur_per_day"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let pooled = g["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()["metrics"]["eur_per_day"]
            .as_f64()
            .unwrap();
        let weighted = (month[0] * days[0] + month[1] * days[1]) / (days[0] + days[1]);
        assert!(
            (pooled - weighted).abs() < 1e-6,
            "{name}: {pooled} vs {weighted}"
        );
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        md.contains("By test month") && md.contains("| 2023-04 | 30 | "),
        "{md}"
    );
    assert!(md.contains("walk-forward by month"), "{md}");

    let o = imbarb(&[
        "backtest",
        "--policy",
        "rule",
        "--data",
        "synthetic:2023-01-01..2023-04-30:seed=4",
        "--split",
        "walk-forward-monthly:2023-03..2023-04:7",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("imbarb experiment"), "{}", stderr(&o));
}
