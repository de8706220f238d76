//! Retrain, promote and rollback as an operator runs them (issue #30): a challenger trained from
//! the deployed run with its evidence, a promotion refused without it and forced with it, a
//! promotion against another champion refused, and the way back.

mod common;

use common::{imbarb, stderr, stdout, trained};

#[test]
fn retrain_promote_and_rollback_re_point_the_run_link() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::fs::canonicalize(trained(dir.path(), "qr-dqn")).unwrap();
    let deploy = dir.path().join("deploy");
    std::fs::create_dir(&deploy).unwrap();
    let link = deploy.join("current");
    std::os::unix::fs::symlink(&run, &link).unwrap();
    let l = link.to_str().unwrap();
    let cand = dir.path().join("cand");
    let o = imbarb(&[
        "retrain",
        "--run",
        l,
        "--data",
        "belgium",
        "--until",
        "2023-06-30",
        "--validation-days",
        "7",
        "--steps",
        "2000",
        "--out",
        cand.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cand.join("candidate.json")).unwrap())
            .unwrap();
    let days: Vec<&str> = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(days.len(), 7);
    assert_eq!(*days.last().unwrap(), "2023-06-30");
    assert_eq!(report["champion"][0], run.to_str().unwrap());
    let names: Vec<&str> = report["eur_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["candidate", "champion", "rule", "mpc", "mpc-rolling"]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cand.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["config"]["training"]["warm_start"],
        run.to_str().unwrap()
    );
    assert_eq!(
        manifest["config"]["data"]["split"],
        "walk-forward:2023-07-01:7"
    );

    // No candidate beats everything by a million EUR a day: refused, the link unchanged.
    let c = cand.to_str().unwrap();
    let o = imbarb(&[
        "promote",
        "--candidate",
        c,
        "--live",
        l,
        "--margin",
        "1000000",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not promoted") && stderr(&o).contains("margin 1000000.0"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::canonicalize(&link).unwrap(), run);
    // Forced: re-pointed, and recorded as forced.
    let o = imbarb(&[
        "promote",
        "--candidate",
        c,
        "--live",
        l,
        "--margin",
        "1000000",
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("forced over"));
    assert_eq!(
        std::fs::canonicalize(&link).unwrap(),
        std::fs::canonicalize(&cand).unwrap()
    );
    // Its evidence was measured against the run before: promoting it again is refused.
    let o = imbarb(&["promote", "--candidate", c, "--live", l]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("was compared with"), "{}", stderr(&o));
    // Rollback restores the run before, once.
    let o = imbarb(&["rollback", "--live", l]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::canonicalize(&link).unwrap(), run);
    let o = imbarb(&["rollback", "--live", l]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a promotion"), "{}", stderr(&o));
    let history = std::fs::read_to_string(deploy.join("current.promotions.jsonl")).unwrap();
    let kinds: Vec<String> = history
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["promote", "rollback"]);
    // The service must be started on a link for a promotion to re-point it.
    let o = imbarb(&[
        "promote",
        "--candidate",
        c,
        "--live",
        run.to_str().unwrap(),
        "--force",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a symbolic link"), "{}", stderr(&o));
    // A retrain up to a day the data does not have is refused by name.
    let o = imbarb(&[
        "retrain",
        "--run",
        l,
        "--data",
        "belgium",
        "--until",
        "2030-01-31",
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--until 2030-01-31"), "{}", stderr(&o));
}
