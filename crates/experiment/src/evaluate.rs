//! Backtests an experiment's finished runs beside its baselines and the oracle on the test days,
//! one group per comparable setting (data, split, battery and cap, granularity, actions), with
//! the traces of the best agent's best, median and worst days for the report.

use crate::grid::{cap_label, Job};
use crate::policy::{metrics_of, run_policy, PolicySpec, DEFAULT_MPC_HORIZON};
use crate::setup::{build_setup, describe_actions, parse_data, DaySet};
use anyhow::{Context, Result};
use imbarb_agents::trainer::RunStatus;
use imbarb_agents::TrainConfig;
use imbarb_eval::{Backtest, Oracle};
use imbarb_report::{
    DayTrace, Evaluation, GroupResult, PeriodPolicy, PeriodResult, PolicyResult, PriceSummary,
};
use imbarb_sim::EnvConfig;
use std::collections::BTreeMap;

/// What a group shares with the groups of other action spaces: data, split, battery (with its
/// cap) and granularity.
fn comparable(c: &TrainConfig) -> serde_json::Value {
    serde_json::json!({
        "data": c.data.sources, "split": c.data.split, "minute_seed": c.data.minute_seed,
        "battery": c.env.battery, "granularity": c.env.granularity,
        "day_ahead_inputs": c.env.observation.uses_day_ahead(),
        "days_without_day_ahead": c.env.observation.excludes_days_without_day_ahead(),
    })
}

/// What makes two runs comparable: what `comparable` holds (a walk-forward month counting as
/// its whole protocol), the actions and what levels do at the limits.
fn group_key(j: &Job) -> String {
    let c = &j.config;
    let mut key = comparable(c);
    if let Some(p) = &j.protocol {
        key["split"] = serde_json::json!(p);
    }
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
        "cap {} / {decisions} / {}{}",
        cap_label(env.battery.cycles_per_day),
        describe_actions(env),
        match (
            env.observation.uses_day_ahead(),
            env.observation.day_ahead_missing,
        ) {
            (false, _) => "",
            (true, imbarb_sim::DayAheadMissing::Exclude) => " / agents see the day-ahead curve",
            (true, imbarb_sim::DayAheadMissing::Mean) => {
                " / agents see the day-ahead curve (its mean where missing)"
            }
        }
    )
}

/// Backtests the finished runs of `jobs` and the `baselines` on the test days, group by group.
pub fn evaluate(name: &str, jobs: &[Job], baselines: &[PolicySpec]) -> Result<Evaluation> {
    let mut groups: BTreeMap<String, Vec<&Job>> = BTreeMap::new();
    for j in jobs {
        groups.entry(group_key(j)).or_default().push(j);
    }
    let mut evaluation = Evaluation {
        name: name.to_string(),
        code_version: imbarb_agents::trainer::CODE_VERSION.to_string(),
        groups: vec![],
        notes: vec![],
    };
    let mut sources = vec![];
    for members in groups.values() {
        let group = evaluate_group(members, baselines, &mut evaluation.notes)?;
        evaluation.groups.push(group);
        let j = members[0];
        sources.push((&j.config.data, j.protocol.as_ref()));
    }
    // Groups that differ only in their data or split would read alike: say what differs.
    let labels: Vec<String> = evaluation.groups.iter().map(|g| g.label.clone()).collect();
    for (g, (data, protocol)) in evaluation.groups.iter_mut().zip(sources) {
        if labels.iter().filter(|l| **l == g.label).count() > 1 {
            let files: Vec<&str> = data
                .sources
                .iter()
                .map(|s| s.rsplit(['/', '\\']).next().unwrap_or(s))
                .collect();
            let protocol = protocol.unwrap_or(&data.split);
            g.label = format!("{} / {protocol} / data {}", g.label, files.join(" + "));
        }
    }
    Ok(evaluation)
}

/// One test window of a group: its split and, for a walk-forward month, the month.
struct Window {
    month: Option<String>,
    split: imbarb_market::SplitSpec,
}

/// One policy's backtest in one window.
struct Outcome {
    name: String,
    kind: String,
    seed: Option<u64>,
    run: Option<String>,
    backtest: Backtest,
}

/// One group: its baselines and finished runs on the same test days and battery. A
/// walk-forward group is evaluated month by month (baselines refit and the oracle solved on
/// each month's own window, each month's runs on their month) and pooled over the months.
fn evaluate_group(
    members: &[&Job],
    baselines: &[PolicySpec],
    notes: &mut Vec<String>,
) -> Result<GroupResult> {
    let c = &members[0].config;
    // Every policy of a group is judged on the same days: when its agents observe the
    // day-ahead curve (the group key says so), days without one are left out for all, and the
    // baselines are fitted on the same training days (they read the curve where public anyway).
    let observation = imbarb_sim::ObservationConfig {
        day_ahead: usize::from(c.env.observation.uses_day_ahead()),
        day_ahead_missing: c.env.observation.day_ahead_missing,
        ..Default::default()
    };
    let env = EnvConfig {
        battery: c.env.battery,
        granularity: c.env.granularity,
        actions: c.env.actions,
        levels_at_limits: c.env.levels_at_limits,
        observation,
    };
    let (sources, split) = parse_data(&c.data.sources, &c.data.split)?;
    let windows: Vec<Window> = match &members[0].protocol {
        Some(p) => imbarb_market::SplitSpec::parse(p)?
            .month_windows()
            .unwrap_or_default()
            .into_iter()
            .map(|w| Window {
                month: Some(w.month),
                split: w.split,
            })
            .collect(),
        None => vec![Window { month: None, split }],
    };
    // Agents whose every window finished; the others are left out with a note.
    let finished = |j: &Job| {
        imbarb_agents::trainer::read_manifest(&j.run)
            .map(|m| m.status == RunStatus::Finished)
            .unwrap_or(false)
    };
    let complete: Vec<(String, u64)> = {
        let mut by_run: BTreeMap<(String, u64), bool> = BTreeMap::new();
        for j in members {
            let ok = finished(j);
            if !ok {
                notes.push(format!("{}: not finished, left out", j.run.display()));
            }
            *by_run.entry((j.agent.clone(), j.seed)).or_insert(true) &= ok;
        }
        by_run
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(k, _)| k)
            .collect()
    };
    let mut outcomes: Vec<Outcome> = vec![];
    let mut periods = vec![];
    let (mut dates, mut oracle_total, mut describe) = (vec![], 0.0, String::new());
    for w in &windows {
        let s = build_setup(
            &sources,
            &w.split,
            env.clone(),
            c.data.minute_seed,
            DaySet::Test,
        )
        .with_context(|| match &w.month {
            Some(m) => format!("walk-forward month {m}"),
            None => "the test days".into(),
        })?;
        let oracle = Oracle::solve(&s.days, &s.eval, &s.config)?;
        let mut here: Vec<Outcome> = vec![];
        for b in baselines {
            let (bt, _) = run_policy(b, &s, &oracle, DEFAULT_MPC_HORIZON)?;
            here.push(Outcome {
                name: b.to_string(),
                kind: "baseline".into(),
                seed: None,
                run: None,
                backtest: bt,
            });
        }
        for j in members.iter().filter(|j| j.month == w.month) {
            if !complete.contains(&(j.agent.clone(), j.seed)) {
                continue;
            }
            let spec = PolicySpec::Run(j.run.clone());
            let (bt, _) = run_policy(&spec, &s, &oracle, DEFAULT_MPC_HORIZON)?;
            here.push(Outcome {
                name: j.agent.clone(),
                kind: "agent".into(),
                seed: Some(j.seed),
                run: Some(j.run.display().to_string()),
                backtest: bt,
            });
        }
        let n_days = s.eval.len().max(1) as f64;
        if let Some(month) = &w.month {
            periods.push(PeriodResult {
                label: month.clone(),
                days: s.eval.len(),
                train_days: s.train.len(),
                oracle_eur_per_day: oracle.total_eur() / n_days,
                policies: here
                    .iter()
                    .map(|o| PeriodPolicy {
                        name: o.name.clone(),
                        seed: o.seed,
                        eur_per_day: o.backtest.days.iter().map(|d| d.profit_eur).sum::<f64>()
                            / n_days,
                    })
                    .collect(),
            });
        }
        dates.extend(s.eval.iter().map(|&d| s.days.days[d].date));
        oracle_total += oracle.total_eur();
        describe = s.describe().replace('\n', "; ");
        pool(&mut outcomes, here);
    }
    if windows.len() > 1 {
        let months: Vec<String> = periods
            .iter()
            .map(|p| {
                format!(
                    "{} ({} test / {} training days)",
                    p.label, p.days, p.train_days
                )
            })
            .collect();
        describe = format!(
            "walk-forward by month, every month trained or refit on the days before it: {}; {} test days in all ({} .. {}); last month: {describe}",
            months.join(", "),
            dates.len(),
            dates.first().map_or(String::new(), |d: &chrono::NaiveDate| d.to_string()),
            dates.last().map_or(String::new(), |d: &chrono::NaiveDate| d.to_string()),
        );
    }
    let results: Vec<(PolicyResult, Backtest)> = outcomes
        .into_iter()
        .map(|o| {
            let metrics = metrics_of(&o.backtest, &c.env.battery, oracle_total);
            (
                PolicyResult {
                    name: o.name,
                    kind: o.kind,
                    seed: o.seed,
                    run: o.run,
                    metrics,
                    daily_eur: o.backtest.days.iter().map(|d| d.profit_eur).collect(),
                },
                o.backtest,
            )
        })
        .collect();
    let prices: Vec<f64> = results.first().map_or(vec![], |(_, bt)| {
        bt.ledger.iter().map(|r| r.price_long_eur_per_mwh).collect()
    });
    Ok(GroupResult {
        label: group_label(&env),
        comparable: comparable(c).to_string(),
        continuous: c.env.actions == imbarb_sim::ActionSpace::Continuous,
        setup: describe,
        oracle_eur_per_day: oracle_total / dates.len().max(1) as f64,
        dates,
        prices: PriceSummary::of(&prices),
        traces: representative_days(&results),
        policies: results.into_iter().map(|(p, _)| p).collect(),
        periods,
    })
}

/// Appends one window's outcomes to the pooled ones: the same policy and seed continues its
/// backtest (its ledger and days run on), a new one is added. Agent runs of later months carry
/// the first month's run directory.
fn pool(pooled: &mut Vec<Outcome>, window: Vec<Outcome>) {
    for o in window {
        match pooled
            .iter_mut()
            .find(|p| p.name == o.name && p.seed == o.seed)
        {
            Some(p) => {
                p.backtest.ledger.extend(o.backtest.ledger);
                p.backtest.days.extend(o.backtest.days);
            }
            None => pooled.push(o),
        }
    }
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
