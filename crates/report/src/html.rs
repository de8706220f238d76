//! The report page: one self-contained HTML file (inline CSS and SVG, no scripts, nothing
//! fetched) that a trader opens in a browser: data and settings, results per group of comparable
//! runs, cumulative and daily P&L, the risk-return frontier, representative days, training
//! curves and every run's manifest.

use crate::charts::{self, colour, hex, Series};
use crate::format::thousands;
use crate::model::{mean_over, Evaluation, GroupResult, PolicyResult, RunInfo};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's style: charts and tables fit the window (charts scale, wide tables scroll inside
/// their own box), so a phone-wide screen needs no horizontal scrolling.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}figure{margin:1.5em 0}\
figcaption{font-size:13px;color:#555}pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}\
.note{color:#555;font-size:14px}.scroll{overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto;display:block}\
.legend{font-size:13px;margin:.3em 0}.legend span{display:inline-block;margin-right:1.2em;white-space:nowrap}\
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:.4em}\
h1,h2{overflow-wrap:anywhere}";

/// The legend of a chart's series (name and palette colour), as HTML under the chart.
fn legend(entries: &[(String, String)]) -> String {
    let items: Vec<String> = entries
        .iter()
        .map(|(name, colour)| {
            format!(
                "<span><i style=\"background:{colour}\"></i>{}</span>",
                escape(name)
            )
        })
        .collect();
    format!("<div class=\"legend\">{}</div>", items.join(""))
}

/// The legend of `series`.
fn series_legend(series: &[Series]) -> String {
    let entries: Vec<(String, String)> = series
        .iter()
        .map(|s| (s.name.clone(), hex(colour(s.colour))))
        .collect();
    legend(&entries)
}

/// Mean over a policy's seeds of each test day's P&L.
fn mean_daily(runs: &[&PolicyResult]) -> Vec<f64> {
    let days = runs.iter().map(|r| r.daily_eur.len()).min().unwrap_or(0);
    (0..days)
        .map(|d| runs.iter().map(|r| r.daily_eur[d]).sum::<f64>() / runs.len() as f64)
        .collect()
}

fn results_table(g: &GroupResult) -> String {
    let mut t = String::from(
        "<table><tr><th>policy</th><th>seeds</th><th>EUR/day (mean, 95 % CI)</th><th>% of perfect foresight</th>\
         <th>cycles/day</th><th>std/day</th><th>VaR 10 %</th><th>CVaR 10 %</th><th>losing days</th></tr>",
    );
    for p in g.summaries() {
        let shown = p.eur_per_day.map_or("-".into(), |s| match s.half_width {
            Some(h) => format!("{} ± {}", thousands(s.mean, 1), thousands(h, 1)),
            None => thousands(s.mean, 1),
        });
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} %</td></tr>",
            escape(p.name),
            p.seeds,
            shown,
            p.pct_of_perfect,
            p.cycles_per_day,
            thousands(p.daily_std_eur, 1),
            thousands(p.var_10_eur, 1),
            thousands(p.cvar_10_eur, 1),
            100.0 * p.losing_day_share,
        ));
    }
    t.push_str("</table>");
    t
}

fn figure(svg: Result<String, String>, caption: &str) -> String {
    figure_with(svg, "", caption)
}

/// A chart with its HTML legend (may be empty) and caption.
fn figure_with(svg: Result<String, String>, legend: &str, caption: &str) -> String {
    match svg {
        Ok(svg) => format!(
            "<figure class=\"chart\">{svg}{legend}<figcaption>{}</figcaption></figure>",
            escape(caption)
        ),
        Err(e) => format!(
            "<p class=\"note\">chart not drawn ({}): {}</p>",
            escape(caption),
            escape(&e)
        ),
    }
}

fn group_section(g: &GroupResult) -> String {
    let named = g.by_policy();
    let mut s = format!(
        "<h2>{}</h2><p class=\"note\">{}</p>{}",
        escape(&g.label),
        escape(&g.setup),
        results_table(g)
    );
    // Cumulative P&L: every agent (mean over seeds), the oracle and the best rule.
    let best_rule = g.best_baseline().map(|(n, _)| n);
    // Colours follow the policy's place in the group, the same in every chart.
    let cumulative: Vec<Series> = named
        .iter()
        .enumerate()
        .filter(|(_, (n, r))| r[0].kind == "agent" || *n == "oracle" || Some(*n) == best_rule)
        .map(|(i, (n, runs))| {
            let mut total = 0.0;
            let points = mean_daily(runs)
                .iter()
                .enumerate()
                .map(|(d, p)| {
                    total += p;
                    (d as f64 + 1.0, total)
                })
                .collect();
            Series {
                name: n.to_string(),
                colour: i,
                points,
            }
        })
        .collect();
    let date_of = |x: &f64| {
        let i = x.round();
        match g.dates.get((i as usize).wrapping_sub(1)) {
            Some(d) if (x - i).abs() < 1e-6 && i >= 1.0 => d.format("%Y-%m-%d").to_string(),
            _ => String::new(),
        }
    };
    s.push_str(&figure_with(
        charts::lines_labelled("Cumulative P&L", "test day", "EUR", &cumulative, &date_of),
        &series_legend(&cumulative),
        "Cumulative P&L over the test days, by date: agents (mean over seeds), the perfect-foresight oracle and the best rule.",
    ));
    let daily: Vec<(String, Vec<f64>)> = named
        .iter()
        .map(|(n, runs)| {
            (
                n.to_string(),
                runs.iter()
                    .flat_map(|r| r.daily_eur.iter().copied())
                    .collect(),
            )
        })
        .collect();
    s.push_str(&figure(
        charts::boxes("Daily P&L", "EUR per day", &daily),
        "Daily P&L per method (all seeds): box from the 25 to the 75 % point, median line, whiskers to the 5 and 95 % points, dot at the mean.",
    ));
    let frontier: Vec<(String, usize, f64, f64)> = named
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| *n != "oracle")
        .map(|(i, (n, runs))| {
            (
                n.to_string(),
                i,
                mean_over(runs, |r| r.metrics.cvar_10_eur),
                mean_over(runs, |r| r.metrics.eur_per_day),
            )
        })
        .collect();
    s.push_str(&figure(
        charts::scatter(
            "Risk and return",
            "CVaR 10 % of daily P&L, EUR",
            "mean EUR/day",
            &frontier,
        ),
        &format!(
            "The risk-return frontier: mean profit against the mean of the worst 10 % of days (up and to the right is better). \
             The perfect-foresight oracle is left out of the chart to keep the policies apart: it earns {} EUR/day with a CVaR 10 % of {} EUR.",
            thousands(g.oracle_eur_per_day, 1),
            named
                .iter()
                .find(|(n, _)| *n == "oracle")
                .map_or("-".to_string(), |(_, r)| thousands(mean_over(r, |p| p.metrics.cvar_10_eur), 1)),
        ),
    ));
    let day_legend = legend(&[
        ("price, EUR/MWh".into(), "#5A5A5A".into()),
        ("grid power, MW (> 0 discharge)".into(), hex(colour(0))),
        ("state of charge, MWh".into(), hex(colour(2))),
    ]);
    for t in &g.traces {
        s.push_str(&figure_with(
            charts::day(
                &format!("{} on {} ({} day)", t.policy, t.date, t.why),
                &imbarb_market::calendar::day_clock_labels(t.date),
                &t.price,
                &t.power_mw,
                &t.soc_mwh,
            ),
            &day_legend,
            &format!(
                "{} test day for {}: the price (above), grid power (blue, > 0 discharge, MW) and state of charge (green, MWh) below, by Brussels time.",
                t.why, t.policy
            ),
        ));
    }
    s
}

fn data_section(e: &Evaluation) -> String {
    let mut s = String::from(
        "<h2>Data and settings</h2><table><tr><th>group</th><th>test days</th><th>first</th><th>last</th>\
         <th>mean price</th><th>std</th><th>min</th><th>max</th><th>negative QHs</th><th>optimum EUR/day</th></tr>",
    );
    for g in &e.groups {
        let p = &g.prices;
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{:.1} %</td><td>{}</td></tr>",
            escape(&g.label),
            g.dates.len(),
            g.dates.first().map_or("-".into(), |d| d.to_string()),
            g.dates.last().map_or("-".into(), |d| d.to_string()),
            p.mean,
            p.std,
            thousands(p.min, 1),
            thousands(p.max, 1),
            100.0 * p.negative_share,
            thousands(g.oracle_eur_per_day, 1)
        ));
    }
    s.push_str(
        "</table><p class=\"note\">Prices in EUR/MWh over the test days' quarter-hours.</p>",
    );
    s
}

/// A config value in a few words: a string as it is, a table as `kind (key value, ...)`.
fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => {
            let kind = m.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            let rest: Vec<String> = m
                .iter()
                .filter(|(k, _)| *k != "kind")
                .map(|(k, v)| format!("{k} {}", compact(v)))
                .collect();
            if rest.is_empty() {
                kind.to_string()
            } else {
                format!("{kind} ({})", rest.join(", "))
            }
        }
        other => other.to_string(),
    }
}

fn methods_section(runs: &[RunInfo]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<h2>Methods</h2><table><tr><th>run</th><th>algorithm</th><th>actions</th><th>decisions</th>\
         <th>steps</th><th>gamma</th><th>n-step</th><th>risk</th><th>deployed network's validation EUR/day</th>\
         <th>train min</th><th>env steps/s</th><th>updates/s</th></tr>",
    );
    for r in runs {
        let m = &r.manifest;
        let c = &m.config;
        let risk = serde_json::to_value(c.risk).unwrap_or_default();
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            escape(&r.name),
            escape(&m.algo),
            escape(&c.env.actions.to_string()),
            escape(&c.env.granularity.to_string()),
            thousands(c.training.total_steps as f64, 0),
            c.training.gamma,
            c.training.n_step,
            escape(&compact(&risk)),
            m.best
                .as_ref()
                .map_or("-".into(), |v| format!("{:.1}", v.eur_per_day)),
            r.throughput.map_or("<td>-</td><td>-</td><td>-</td>".into(), |t| format!(
                "<td>{:.1}</td><td>{:.0}</td><td>{:.0}</td>",
                t.wall_s / 60.0,
                t.env_steps_per_s,
                t.updates_per_s
            )),
        ));
    }
    s.push_str("</table>");
    s
}

/// A curve drawn from a run's metrics lines.
type CurveOf<'a> = dyn Fn(&RunInfo) -> Vec<(f64, f64)> + 'a;

/// Per agent, its runs' curves during training: validation profit, training return, loss, and
/// exploration (epsilon for value agents, the temperature alpha for actor-critics).
fn training_section(runs: &[RunInfo]) -> String {
    let mut agents: Vec<&str> = runs.iter().map(|r| r.agent.as_str()).collect();
    agents.dedup();
    if agents.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Training curves</h2>");
    for a in agents {
        let mine: Vec<&RunInfo> = runs.iter().filter(|r| r.agent == a).collect();
        let actor_critic = mine.iter().any(|r| {
            r.metrics
                .iter()
                .any(|m| m.diagnostics.contains_key("alpha"))
        });
        let exploration = |m: &imbarb_agents::trainer::MetricsLine| {
            m.diagnostics.get("alpha").copied().unwrap_or(m.epsilon)
        };
        let panels: [(&str, &str, &CurveOf); 4] = [
            ("validation", "validation EUR/day", &|r| {
                r.validation_curve()
            }),
            ("training return", "EUR/day (last 100 days)", &|r| {
                r.curve(|m| m.train_return_eur_per_day)
            }),
            ("loss", "mean loss (last 100 rounds)", &|r| {
                r.curve(|m| m.loss)
            }),
            (
                if actor_critic {
                    "temperature"
                } else {
                    "exploration"
                },
                if actor_critic { "alpha" } else { "epsilon" },
                &|r| r.curve(exploration),
            ),
        ];
        for (title, y, points) in panels {
            let series: Vec<Series> = mine
                .iter()
                .enumerate()
                .map(|(i, r)| Series {
                    name: r.name.clone(),
                    colour: i,
                    points: points(r),
                })
                .collect();
            s.push_str(&figure_with(
                charts::lines(&format!("{a}: {title}"), "environment steps", y, &series),
                &series_legend(&series),
                &format!("{a}: {title} at each validation, per run."),
            ));
        }
    }
    s
}

fn manifests_section(runs: &[RunInfo]) -> String {
    let mut s = String::from("<h2>Run manifests</h2>");
    for r in runs {
        let text = serde_json::to_string_pretty(&r.manifest).unwrap_or_default();
        s.push_str(&format!(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            escape(&r.name),
            escape(&text)
        ));
    }
    s
}

/// The whole page.
pub fn render(e: &Evaluation, runs: &[RunInfo]) -> String {
    let mut body = format!(
        "<h1>imbarb: {}</h1><p class=\"note\">Backtests on the test days, imbarb {}. Profits in EUR \
         from the single imbalance price; % of perfect foresight against the optimum on the same \
         days and constraints.</p>",
        escape(&e.name),
        escape(&e.code_version)
    );
    body.push_str(&data_section(e));
    body.push_str(&methods_section(runs));
    for g in &e.groups {
        body.push_str(&group_section(g));
    }
    body.push_str(&training_section(runs));
    body.push_str(&manifests_section(runs));
    if !e.notes.is_empty() {
        body.push_str("<h2>Notes</h2><ul>");
        for n in &e.notes {
            body.push_str(&format!("<li>{}</li>", escape(n)));
        }
        body.push_str("</ul>");
    }
    // Every table in a box that scrolls sideways on its own when the window is narrower.
    let body = body
        .replace("<table>", "<div class=\"scroll\"><table>")
        .replace("</table>", "</table></div>");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>imbarb: {}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(&e.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_in_a_few_words() {
        let risk = serde_json::json!({"kind": "mean-plus-var", "alpha": 0.1, "beta": 3.0});
        assert_eq!(compact(&risk), "mean-plus-var (alpha 0.1, beta 3.0)");
        assert_eq!(
            compact(&serde_json::json!({"kind": "continuous"})),
            "continuous"
        );
        assert_eq!(compact(&serde_json::json!("qh")), "qh");
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
