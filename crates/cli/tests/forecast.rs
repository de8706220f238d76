//! `imbarb forecast` (the MLP and the tree baseline) and `backtest --policy smpc` end to end on
//! the synthetic market.

mod common;

use common::{imbarb, stderr, stdout};

#[test]
fn forecast_scores_every_horizon_and_writes_its_quantiles() {
    forecast_end_to_end(&["--steps", "300"]);
}

#[test]
fn the_tree_forecaster_scores_every_horizon_and_writes_its_quantiles() {
    let err = forecast_end_to_end(&["--model", "gbdt", "--max-rounds", "50"]);
    assert!(err.contains("gradient-boosted trees"), "{err}");
    assert!(err.contains("rounds kept per horizon"), "{err}");
}

/// `imbarb forecast` with `extra` arguments at horizon 4: scores and quantiles checked; its
/// stderr returned.
fn forecast_end_to_end(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.csv");
    let mut args = vec![
        "forecast",
        "--data",
        "synthetic:2023-01-01..2023-03-31:seed=2",
        "--horizon",
        "4",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = imbarb(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let scores: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let scores = scores.as_array().unwrap();
    // The forecaster, persistence and profile at horizons 1..4 (no day-ahead file: no day-ahead).
    assert_eq!(scores.len(), 12);
    for s in scores {
        let coverage = s["coverage_80"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&coverage) && s["crps"].as_f64().unwrap() > 0.0);
    }
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("decision_utc,horizon,target_utc,price_eur_mwh,q05,q10"));
    assert!(header.ends_with(",q95"));
    let rows: Vec<&str> = lines.collect();
    let scored = scores[0]["rows"].as_u64().unwrap() as usize;
    assert_eq!(rows.len(), scored * 4);
    // Quantiles never cross.
    for r in &rows {
        let q: Vec<f64> = r.split(',').skip(4).map(|v| v.parse().unwrap()).collect();
        assert!(q.windows(2).all(|w| w[1] >= w[0]), "{r}");
    }
    stderr(&o)
}

#[test]
fn forecast_and_smpc_refuse_bad_settings() {
    let o = imbarb(&["forecast", "--data", "synthetic", "--horizon", "0"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("forecast.horizon"), "{}", stderr(&o));
    let o = imbarb(&["backtest", "--policy", "smpc:x", "--data", "synthetic"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("smpc:SEED"), "{}", stderr(&o));
    let o = imbarb(&[
        "backtest",
        "--policy",
        "smpc-trees:-1",
        "--data",
        "synthetic",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("smpc-trees:SEED"), "{}", stderr(&o));
    // A flag of the other model is refused, not ignored.
    for (model, flag, value) in [
        ("gbdt", "--steps", "100"),
        ("mlp", "--eta", "0.2"),
        ("mlp", "--max-rounds", "5"),
    ] {
        let o = imbarb(&[
            "forecast",
            "--model",
            model,
            "--data",
            "synthetic",
            flag,
            value,
        ]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains(&format!("{flag} does not apply to --model {model}")),
            "{}",
            stderr(&o)
        );
    }
    for (flag, value, key) in [
        ("--eta", "0", "trees.eta"),
        ("--max-depth", "0", "trees.max_depth"),
        ("--max-rounds", "0", "trees.max_rounds"),
    ] {
        let o = imbarb(&[
            "forecast",
            "--model",
            "gbdt",
            "--data",
            "synthetic",
            flag,
            value,
        ]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(key), "{flag} {value}: {}", stderr(&o));
    }
    let o = imbarb(&[
        "backtest",
        "--policy",
        "smpc",
        "--data",
        "synthetic",
        "--mpc-horizon",
        "200",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("forecast.horizon"), "{}", stderr(&o));
}
