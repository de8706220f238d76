//! Backtests an experiment's finished runs beside its baselines and the oracle on the test days,
//! one group per comparable setting (data, split, battery and cap, granularity, actions), with
//! the traces of the best agent's best, median and worst days for the report.

use crate::grid::{cap_label, Job};
use crate::policy::{run_policy, PolicySpec, DEFAULT_MPC_HORIZON};
use crate::setup::{build_setup, describe_actions, parse_data, DaySet};
use anyhow::Result;
use imbarb_agents::trainer::RunStatus;
use imbarb_agents::TrainConfig;
use imbarb_eval::{Backtest, Oracle};
use imbarb_report::{DayTrace, Evaluation, GroupResult, PolicyResult, PriceSummary};
use imbarb_sim::EnvConfig;
use std::collections::BTreeMap;

/// What a group shares with the groups of other action spaces: data, split, battery (with its
/// cap) and granularity.
fn comparable(c: &TrainConfig) -> serde_json::Value {
    serde_json::json!({
        "data": c.data.sources, "split": c.data.split, "minute_seed": c.data.minute_seed,
        "battery": c.env.battery, "granularity": c.env.granularity,
    })
}

/// What makes two runs comparable: what `comparable` holds, the actions and what levels do at
/// the limits.
fn group_key(c: &TrainConfig) -> String {
    let mut key = comparable(c);
    key["actions"] = serde_json::json!(c.env.actions);
    key["levels_at_limits"] = serde_json::json!(c.env.levels_at_limits);
    key.to_string()
}

/// A readable label of a group, e.g. "cap none / quarter-hour decisions / 3-level".
pub fn group_label(env: &EnvConfig) -> String {
    let decisions = match env.granularity {
        imbarb_sim::Granularity::Qh => "quarter-hour decisions",
        imbarb_sim::Granularity::Minute => "minute decisions",
    };
    format!(
        "cap {} / {decisions} / {}",
        cap_label(env.battery.cycles_per_day),
        describe_actions(env)
    )
}

/// Backtests the finished runs of `jobs` and the `baselines` on the test days, group by group.
pub fn evaluate(name: &str, jobs: &[Job], baselines: &[PolicySpec]) -> Result<Evaluation> {
    let mut groups: BTreeMap<String, Vec<&Job>> = BTreeMap::new();
    for j in jobs {
        groups.entry(group_key(&j.config)).or_default().push(j);
    }
    let mut evaluation = Evaluation {
        name: name.to_string(),
        code_version: imbarb_agents::trainer::CODE_VERSION.to_string(),
        groups: vec![],
        notes: vec![],
    };
    for members in groups.values() {
        let group = evaluate_group(members, baselines, &mut evaluation.notes)?;
        evaluation.groups.push(group);
    }
    Ok(evaluation)
}

/// One group: its baselines and finished runs on the same test days and battery.
fn evaluate_group(
    members: &[&Job],
    baselines: &[PolicySpec],
    notes: &mut Vec<String>,
) -> Result<GroupResult> {
    let c = &members[0].config;
    let env = EnvConfig {
        battery: c.env.battery,
        granularity: c.env.granularity,
        actions: c.env.actions,
        levels_at_limits: c.env.levels_at_limits,
        ..EnvConfig::default()
    };
    let (sources, split) = parse_data(&c.data.sources, &c.data.split)?;
    let s = build_setup(&sources, &split, env, c.data.minute_seed, DaySet::Test)?;
    let oracle = Oracle::solve(&s.days, &s.eval, &s.config)?;
    let mut results: Vec<(PolicyResult, Backtest)> = vec![];
    let mut run_one =
        |name: &str, kind: &str, seed: Option<u64>, spec: &PolicySpec| -> Result<()> {
            let (bt, metrics) = run_policy(spec, &s, &oracle, DEFAULT_MPC_HORIZON)?;
            results.push((
                PolicyResult {
                    name: name.to_string(),
                    kind: kind.to_string(),
                    seed,
                    run: spec.run_dir().map(|p| p.display().to_string()),
                    metrics,
                    daily_eur: bt.days.iter().map(|d| d.profit_eur).collect(),
                },
                bt,
            ));
            Ok(())
        };
    for b in baselines {
        run_one(&b.to_string(), "baseline", None, b)?;
    }
    for j in members {
        let finished = imbarb_agents::trainer::read_manifest(&j.run)
            .map(|m| m.status == RunStatus::Finished)
            .unwrap_or(false);
        if !finished {
            notes.push(format!("{}: not finished, left out", j.run.display()));
            continue;
        }
        run_one(
            &j.agent,
            "agent",
            Some(j.seed),
            &PolicySpec::Run(j.run.clone()),
        )?;
    }
    let prices: Vec<f64> = results.first().map_or(vec![], |(_, bt)| {
        bt.ledger.iter().map(|r| r.price_long_eur_per_mwh).collect()
    });
    Ok(GroupResult {
        label: group_label(&s.config),
        comparable: comparable(c).to_string(),
        continuous: c.env.actions == imbarb_sim::ActionSpace::Continuous,
        setup: s.describe().replace('\n', "; "),
        dates: s.eval.iter().map(|&d| s.days.days[d].date).collect(),
        prices: PriceSummary::of(&prices),
        oracle_eur_per_day: oracle.total_eur() / s.eval.len().max(1) as f64,
        traces: representative_days(&results),
        policies: results.into_iter().map(|(p, _)| p).collect(),
    })
}

/// The best, median and worst test days of the best agent (highest mean EUR/day over its seeds;
/// its first seed acts), or of the best baseline when no agent ran.
fn representative_days(results: &[(PolicyResult, Backtest)]) -> Vec<DayTrace> {
    let mean_of = |name: &str| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(p, _)| p.name == name)
            .map(|(p, _)| p.metrics.eur_per_day)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let pick = |kind: &str| {
        results
            .iter()
            .filter(|(p, _)| p.kind == kind && p.name != "oracle")
            .max_by(|a, b| mean_of(&a.0.name).total_cmp(&mean_of(&b.0.name)))
            .map(|(p, _)| p.name.clone())
    };
    let Some(best) = pick("agent").or_else(|| pick("baseline")) else {
        return vec![];
    };
    let Some((_, bt)) = results.iter().find(|(p, _)| p.name == best) else {
        return vec![];
    };
    let mut days: Vec<&imbarb_eval::DayPnl> = bt.days.iter().collect();
    days.sort_by(|a, b| b.profit_eur.total_cmp(&a.profit_eur));
    if days.is_empty() {
        return vec![];
    }
    [
        ("best", 0),
        ("median", days.len() / 2),
        ("worst", days.len() - 1),
    ]
    .into_iter()
    .map(|(why, i)| {
        let date = days[i].date;
        let rows: Vec<_> = bt.ledger.iter().filter(|r| r.date == date).collect();
        DayTrace {
            date,
            why: why.into(),
            policy: best.clone(),
            price: rows.iter().map(|r| r.price_long_eur_per_mwh).collect(),
            power_mw: rows.iter().map(|r| r.power_mw).collect(),
            soc_mwh: rows.iter().map(|r| r.soc_mwh).collect(),
        }
    })
    .collect()
}
