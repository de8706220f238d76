//! The sections `results.md` adds to the table: agents on levels against continuous-power
//! baselines, and the risk-return frontier, on hand-made evaluations.

use imbarb_eval::Metrics;
use imbarb_experiment::tables::{cross_space_md, frontier_md, results_md};
use imbarb_report::{Evaluation, GroupResult, PolicyResult, PriceSummary};

fn policy(name: &str, kind: &str, seed: Option<u64>, eur: f64, cvar: f64) -> PolicyResult {
    PolicyResult {
        name: name.into(),
        kind: kind.into(),
        seed,
        run: None,
        metrics: Metrics {
            policy: name.into(),
            days: 2,
            total_eur: 2.0 * eur,
            eur_per_day: eur,
            eur_per_mw_year: 365.0 * eur,
            pct_of_perfect: Some(eur / 20.0),
            cycles_per_day: 1.0,
            daily_std_eur: 10.0,
            var_5_eur: cvar,
            cvar_5_eur: cvar,
            var_10_eur: cvar,
            cvar_10_eur: cvar,
            max_drawdown_eur: 0.0,
            losing_day_share: 0.0,
            eur_per_cycle: Some(eur),
        },
        daily_eur: vec![eur, eur],
    }
}

fn group(label: &str, continuous: bool, policies: Vec<PolicyResult>) -> GroupResult {
    GroupResult {
        label: label.into(),
        comparable: "cap none".into(),
        continuous,
        setup: "s".into(),
        dates: vec![],
        prices: PriceSummary::of(&[1.0]),
        oracle_eur_per_day: 2000.0,
        policies,
        traces: vec![],
        periods: vec![],
    }
}

fn evaluation() -> Evaluation {
    Evaluation {
        name: "t".into(),
        code_version: "v".into(),
        groups: vec![
            group(
                "levels",
                false,
                vec![
                    policy("oracle", "baseline", None, 2000.0, 900.0),
                    policy("mpc", "baseline", None, 500.0, 10.0),
                    policy("rule", "baseline", None, 400.0, -50.0),
                    policy("q", "agent", Some(0), 600.0, -20.0),
                    policy("q", "agent", Some(1), 640.0, -40.0),
                    policy("averse", "agent", Some(0), 550.0, 30.0),
                    policy("dominated", "agent", Some(0), 450.0, 0.0),
                ],
            ),
            group(
                "continuous",
                true,
                vec![
                    policy("mpc", "baseline", None, 580.0, 5.0),
                    policy("rule", "baseline", None, 420.0, -10.0),
                ],
            ),
        ],
        notes: vec![],
    }
}

#[test]
fn level_agents_are_set_against_the_best_continuous_baseline() {
    let md = cross_space_md(&evaluation());
    assert!(md.contains("## levels: against continuous power"), "{md}");
    // q: mean 620 over two seeds, against the continuous MPC's 580.
    assert!(md.contains(&format!("{:.2}x (mpc)", 620.0 / 580.0)), "{md}");
    assert!(md.contains(&format!("| averse | 550.0 | {:.2}x (mpc) |", 550.0 / 580.0)));
    // The continuous group has no twin of its own, and baselines get no row.
    assert!(!md.contains("## continuous: against") && !md.contains("| rule |"));
    // Without a continuous group there is nothing to compare.
    let mut e = evaluation();
    e.groups.pop();
    assert_eq!(cross_space_md(&e), "");
}

#[test]
fn the_frontier_keeps_what_no_other_policy_beats_on_both_mean_and_tail() {
    let md = frontier_md(&evaluation());
    // levels: q (620, CVaR -30) > averse (550, 30); mpc (500, 10) is beaten by averse on both,
    // dominated (450, 0) and rule too; the oracle is left out.
    assert!(
        md.contains("levels: q (620.0 EUR/day, CVaR -30.0) > averse (550.0 EUR/day, CVaR 30.0)\n"),
        "{md}"
    );
    assert!(
        md.contains("continuous: mpc (580.0 EUR/day, CVaR 5.0)\n"),
        "{md}"
    );
    let lines: Vec<&str> = md
        .lines()
        .filter(|l| l.contains(" EUR/day, CVaR "))
        .collect();
    assert_eq!(lines.len(), 2, "{md}");
    assert!(lines
        .iter()
        .all(|l| !l.contains("oracle") && !l.contains("dominated")));
    // Both sections are part of results.md.
    let full = results_md(&evaluation());
    assert!(full.contains("Risk-return frontier") && full.contains("against continuous power"));
}
