//! `imbarb decide` (issue #23): the set-point of a trained run from data and battery state, as
//! text and as versioned JSON, and its refusals: a state outside the battery, stale data, a gap
//! in the lags, a decision time off the grid, another market, a damaged checkpoint.

mod common;

use common::{imbarb, stderr, stdout, trained};
use std::path::Path;

#[test]
fn decide_prints_a_set_point_and_refuses_what_it_cannot_see() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path(), "qr-dqn");
    let decide = |extra: &[&str]| {
        let mut args = vec!["decide", "--run", run.as_str(), "--data", "belgium"];
        args.extend_from_slice(extra);
        imbarb(&args)
    };
    // Text: after the newest data (the file ends 2023-08-31 21:45 UTC), every level scored.
    let o = decide(&["--soc-mwh", "1", "--cycles-used", "0.5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("decision for 2023-08-31 21:45:00 UTC (qh): "),
        "{text}"
    );
    assert_eq!(text.matches(" MW allowed ").count(), 3, "{text}");
    assert_eq!(text.matches("<- chosen").count(), 1, "{text}");

    // JSON, schema 1, at a chosen time: the chosen level is the best allowed score.
    let o = decide(&[
        "--soc-mwh",
        "2",
        "--cycles-used",
        "0",
        "--at",
        "2023-08-30T12:00:00Z",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["at"], "2023-08-30T12:00:00Z");
    assert_eq!(v["data_age_s"], 0);
    let scores = v["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 3);
    // A full battery may not charge.
    assert_eq!(scores[0]["allowed"], false);
    let best = scores
        .iter()
        .filter(|s| s["allowed"] == true)
        .max_by(|a, b| {
            a["score"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["score"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(v["level"], best["level"]);
    assert_eq!(v["power_mw"], best["power_mw"]);
    assert_eq!(v["run"]["manifest_sha256"].as_str().unwrap().len(), 64);

    let refused = |extra: &[&str], says: &str| {
        let o = decide(extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    };
    refused(
        &["--soc-mwh", "2.5", "--cycles-used", "0"],
        "--soc-mwh = 2.5: the run's battery holds 0 to 2 MWh",
    );
    refused(
        &["--soc-mwh", "1", "--cycles-used=-1"],
        "--cycles-used = -1",
    );
    refused(
        &[
            "--soc-mwh",
            "1",
            "--cycles-used",
            "0",
            "--at",
            "2023-09-02T00:00:00Z",
        ],
        "min before the decision time 2023-09-02 00:00:00 UTC (at most 30 min allowed)",
    );
    refused(
        &[
            "--soc-mwh",
            "1",
            "--cycles-used",
            "0",
            "--at",
            "2023-08-30T12:05:00Z",
        ],
        "not the start of a quarter-hour",
    );
    // A gap: the embedded data's first quarter-hour has no lags before it.
    refused(
        &[
            "--soc-mwh",
            "1",
            "--cycles-used",
            "0",
            "--at",
            "2022-07-10T16:00:00Z",
        ],
        "a gap in the price lags",
    );

    // A flipped byte in the deployed network: refused by its checksum.
    let best = Path::new(&run).join("checkpoints/best.safetensors");
    let mut bytes = std::fs::read(&best).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    std::fs::write(&best, bytes).unwrap();
    refused(&["--soc-mwh", "1", "--cycles-used", "0"], "checksum");
}

#[test]
fn a_run_refuses_another_markets_data() {
    let Some(shared) =
        imbarb_util::testdata::require_shared_data("a_run_refuses_another_markets_data")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path(), "qr-dqn");
    let nl = shared.join("tennet_nl_imbalance_qh_2024-01_2024-03.csv");
    let o = imbarb(&[
        "decide",
        "--run",
        &run,
        "--data",
        nl.to_str().unwrap(),
        "--soc-mwh",
        "1",
        "--cycles-used",
        "0",
    ]);
    assert!(
        stderr(&o).contains("the run was trained on the BE market, the data is NL"),
        "{}",
        stderr(&o)
    );
}

/// An actor-critic on levels reports its policy: probabilities over the allowed actions that
/// sum to one, none for a forbidden one, the most likely one chosen (greedy = policy).
#[test]
fn an_actor_critic_reports_its_policy_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path(), "dsac");
    let o = imbarb(&[
        "decide",
        "--run",
        &run,
        "--data",
        "belgium",
        "--soc-mwh",
        "0",
        "--cycles-used",
        "0",
        "--at",
        "2023-08-30T12:00:00Z",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let scores = v["scores"].as_array().unwrap();
    let p: Vec<f64> = scores
        .iter()
        .map(|s| s["probability"].as_f64().unwrap())
        .collect();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
    // An empty battery may not discharge.
    assert_eq!(scores[2]["allowed"], false);
    assert_eq!(p[2], 0.0);
    let most = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    assert_eq!(v["level"], most);
}
