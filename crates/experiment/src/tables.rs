//! The tables an experiment writes: `results.csv` (one row per policy and seed), the Markdown
//! table of `results.md` (mean and 95 % Student-t interval over seeds) and its training-speed
//! section.

use anyhow::Result;
use imbarb_report::{Evaluation, RunInfo};

/// What each column of the Markdown table means, written once under it.
pub const COLUMN_NOTES: &str = "EUR/day: mean daily profit on the test days (95 % Student-t \
interval over seeds); % of perfect foresight: profit as a share of the optimum on the same days \
and constraints; cycles/day: full equivalent cycles; std/day: standard deviation of daily P&L; \
VaR 10 %: the lower 10 % quantile of daily P&L; CVaR 10 %: the mean of the worst 10 % of days \
(both in EUR, imbarb-risk's definitions); vs best baseline: mean profit over the best non-oracle \
baseline's.";

/// results.csv: one row per evaluated policy (agents per seed).
pub fn results_csv(e: &Evaluation) -> Result<String> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "group",
        "policy",
        "kind",
        "seed",
        "eur_per_day",
        "pct_of_perfect",
        "cycles_per_day",
        "daily_std_eur",
        "var_10_eur",
        "cvar_10_eur",
        "losing_day_share",
        "max_drawdown_eur",
        "run",
    ])?;
    for g in &e.groups {
        for p in &g.policies {
            let m = &p.metrics;
            w.write_record([
                g.label.clone(),
                p.name.clone(),
                p.kind.clone(),
                p.seed.map_or(String::new(), |s| s.to_string()),
                format!("{:.3}", m.eur_per_day),
                m.pct_of_perfect
                    .map_or(String::new(), |p| format!("{p:.3}")),
                format!("{:.4}", m.cycles_per_day),
                format!("{:.3}", m.daily_std_eur),
                format!("{:.3}", m.var_10_eur),
                format!("{:.3}", m.cvar_10_eur),
                format!("{:.4}", m.losing_day_share),
                format!("{:.3}", m.max_drawdown_eur),
                p.run.clone().unwrap_or_default(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// results.md: per group, baselines and then each agent's mean over seeds with a 95 % interval.
pub fn results_md(e: &Evaluation) -> String {
    let mut out = format!("# Experiment `{}`: test days\n\n", e.name);
    for g in &e.groups {
        let best_baseline = g.best_baseline();
        out.push_str(&format!(
            "## {}\n\n{}\n\n| policy | seeds | EUR/day (mean, 95 % CI) | % of perfect foresight | cycles/day | std/day | VaR 10 % | CVaR 10 % | vs best baseline |\n|---|---|---|---|---|---|---|---|---|\n",
            g.label, g.setup
        ));
        for p in g.summaries() {
            let Some(eur) = p.eur_per_day else {
                continue;
            };
            let vs = match best_baseline {
                Some((b, best)) if best > 0.0 => format!("{:.2}x ({b})", eur.mean / best),
                _ => "-".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {vs} |\n",
                p.name,
                p.seeds,
                eur.display(1),
                p.pct_of_perfect,
                p.cycles_per_day,
                p.daily_std_eur,
                p.var_10_eur,
                p.cvar_10_eur,
            ));
        }
        out.push('\n');
        out.push_str(&periods_md(g));
    }
    out.push_str(COLUMN_NOTES);
    out.push('\n');
    out.push_str(&cross_space_md(e));
    out.push_str(&frontier_md(e));
    for n in &e.notes {
        out.push_str(&format!("\n- {n}"));
    }
    out.push('\n');
    out
}

/// A walk-forward group's months: EUR/day of each policy (agents: mean over seeds) in each test
/// month, with the month's training days and optimum; empty for other groups.
pub fn periods_md(g: &imbarb_report::GroupResult) -> String {
    if g.periods.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = vec![];
    for p in g.periods.iter().flat_map(|p| &p.policies) {
        if !names.contains(&p.name.as_str()) && p.name != "oracle" {
            names.push(&p.name);
        }
    }
    let mut out = format!(
        "By test month (EUR/day; agents: mean over seeds; each month trained or refit on the days before it):\n\n| month | test days | training days | oracle | {} |\n|---|---|---|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for period in &g.periods {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                let v: Vec<f64> = period
                    .policies
                    .iter()
                    .filter(|p| p.name == *n)
                    .map(|p| p.eur_per_day)
                    .collect();
                if v.is_empty() {
                    "-".into()
                } else {
                    format!("{:.1}", v.iter().sum::<f64>() / v.len() as f64)
                }
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} |\n",
            period.label,
            period.days,
            period.train_days,
            period.oracle_eur_per_day,
            cells.join(" | ")
        ));
    }
    out.push('\n');
    out
}

/// Agents on power levels against the best baseline on continuous power at the same battery,
/// cap and decisions (which may execute partial moves levels cannot): a section per group with
/// such a twin in the experiment, none otherwise.
pub fn cross_space_md(e: &Evaluation) -> String {
    let mut out = String::new();
    for g in &e.groups {
        let Some(twin) = e.continuous_twin(g) else {
            continue;
        };
        let Some((b, best)) = twin.best_baseline().filter(|(_, v)| *v > 0.0) else {
            continue;
        };
        out.push_str(&format!(
            "\n## {}: against continuous power\n\nThe best continuous-power baseline at the same battery, cap and decisions: {b}, {best:.1} EUR/day.\n\n| agent | EUR/day | vs best continuous baseline |\n|---|---|---|\n",
            g.label
        ));
        for p in g.summaries().iter().filter(|p| p.kind == "agent") {
            if let Some(eur) = p.eur_per_day {
                out.push_str(&format!(
                    "| {} | {} | {:.2}x ({b}) |\n",
                    p.name,
                    eur.display(1),
                    eur.mean / best
                ));
            }
        }
    }
    out
}

/// The risk-return frontier of each group: the policies no other beats on both mean profit and
/// CVaR 10 % of daily P&L (the oracle left out), highest mean first.
pub fn frontier_md(e: &Evaluation) -> String {
    let mut out = String::from(
        "\n## Risk-return frontier\n\nPer group, the policies that no other policy beats on both mean EUR/day and CVaR 10 % of daily P&L (the oracle left out): each is the best choice for some appetite for risk.\n",
    );
    for g in &e.groups {
        let summaries = g.summaries();
        let rows = imbarb_report::frontier(&summaries);
        out.push_str(&format!(
            "\n{}: {}\n",
            g.label,
            rows.iter()
                .map(|p| {
                    let eur = p.eur_per_day.map_or(f64::NAN, |e| e.mean);
                    format!("{} ({eur:.1} EUR/day, CVaR {:.1})", p.name, p.cvar_10_eur)
                })
                .collect::<Vec<_>>()
                .join(" > ")
        ));
    }
    out
}

/// The training-speed section of `results.md`: per agent, mean wall minutes, environment steps
/// and updates per second over its runs. Kept out of the printed table, which is the same on
/// every machine for the same seeds, while speeds are not.
pub fn training_speed_md(runs: &[RunInfo]) -> String {
    let speeds = imbarb_report::throughput_by_agent(runs);
    if speeds.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Training speed\n\nMean over each agent's runs in this grid (a resumed run's sessions summed, up to its last validation); runs sharing the cores train slower.\n\n| agent | runs | minutes | env steps/s | updates/s |\n|---|---|---|---|---|\n",
    );
    for (agent, n, t) in speeds {
        out.push_str(&format!(
            "| {agent} | {n} | {:.1} | {:.0} | {:.0} |\n",
            t.wall_s / 60.0,
            t.env_steps_per_s,
            t.updates_per_s
        ));
    }
    out
}
