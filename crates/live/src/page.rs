//! The status page at `/`: one self-contained HTML page (inline CSS and SVG, no scripts, nothing
//! fetched) that refreshes itself: the set-point in force and why, data freshness, SoC, cycles
//! and P&L today, and today's prices with the decisions taken.

use crate::journal::DecisionEvent;
use chrono::{DateTime, Utc};

/// What the page shows.
pub struct PageInput<'a> {
    /// `live` or `replay`.
    pub mode: &'a str,
    /// The model's identity.
    pub model: &'a str,
    /// The service's clock.
    pub clock: Option<DateTime<Utc>>,
    /// End of the newest market data.
    pub data_end: Option<DateTime<Utc>>,
    /// SoC now, MWh, and the battery's usable energy.
    pub soc_mwh: f64,
    /// Usable energy, MWh.
    pub energy_mwh: f64,
    /// Cycles used today, and the cap.
    pub cycles_used: f64,
    /// The daily cap, if any.
    pub cycles_cap: Option<f64>,
    /// P&L today, EUR.
    pub pnl_eur: f64,
    /// Today's decisions, oldest first.
    pub decisions: &'a [DecisionEvent],
    /// Today's final prices so far: (quarter-hour start, EUR/MWh).
    pub prices: &'a [(DateTime<Utc>, f64)],
    /// Decisions and fallbacks in all.
    pub counts: (u64, u64),
    /// The latest errors.
    pub errors: &'a [String],
    /// The latest running estimate: (the minute it was computed in, EUR/MWh).
    pub latest_estimate: Option<(DateTime<Utc>, f64)>,
    /// Shadows, guard and control.
    pub lifecycle: &'a crate::lifecycle::LifecycleStatus,
}

/// Who decides, the guard's alerts, input drift and the shadows' window P&L, as HTML.
fn lifecycle(life: &crate::lifecycle::LifecycleStatus) -> String {
    let mut html = format!(
        "<p><span class=\"k\">in control</span> <b>{}</b>",
        escape(&life.control.to_string())
    );
    if life.control != crate::lifecycle::Control::Model {
        html.push_str(" (handed over by the drift guard)");
    }
    let window: Vec<String> = life
        .window_eur_per_day
        .iter()
        .filter_map(|(name, eur)| eur.map(|e| format!("{} {e:.1}", escape(name))))
        .collect();
    if !window.is_empty() {
        html.push_str(&format!(
            " · <span class=\"k\">EUR/day over the guard's window</span> {}",
            window.join(" · ")
        ));
    }
    html.push_str("</p>");
    let items: String = life
        .alerts
        .iter()
        .map(|a| format!("<li>guard: {}</li>", escape(a)))
        .chain(
            life.drift_warnings
                .iter()
                .map(|w| format!("<li>input drift: {}</li>", escape(w))),
        )
        .collect();
    if !items.is_empty() {
        html.push_str(&format!("<ul>{items}</ul>"));
    }
    html
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Today's prices (line) and set-points (bars) as an inline SVG, 24 h wide.
fn chart(input: &PageInput) -> String {
    let (w, h) = (720.0, 200.0);
    let Some(first) = input
        .decisions
        .first()
        .map(|d| d.at)
        .or(input.prices.first().map(|p| p.0))
    else {
        return "<p>No decisions today yet.</p>".into();
    };
    let day_start = first
        - chrono::TimeDelta::seconds(
            (first
                - imbarb_market::calendar::day_start_utc(imbarb_market::calendar::local_day(
                    first,
                )))
            .num_seconds(),
        );
    let x = |t: DateTime<Utc>| (t - day_start).num_seconds() as f64 / 86_400.0 * w;
    let (lo, hi) = input
        .prices
        .iter()
        .fold((0.0f64, 1.0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let y = |p: f64| h - (p - lo) / (hi - lo).max(1e-9) * (h - 20.0) - 10.0;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\"><title>Today: price (line) and set-points (bars: up discharge, down charge)</title>\
         <line x1=\"0\" x2=\"{w}\" y1=\"{mid}\" y2=\"{mid}\" stroke=\"#bbb\"/>",
        mid = h / 2.0
    );
    let max_mw = input
        .decisions
        .iter()
        .map(|d| d.power_mw.abs())
        .fold(1e-9, f64::max);
    for d in input.decisions {
        // A model's idle draws nothing; a fallback's idle a red tick, so every fallback shows.
        if d.power_mw == 0.0 && d.fallback.is_none() {
            continue;
        }
        let bar = d.power_mw / max_mw * (h / 2.0 - 10.0);
        let bar = if bar == 0.0 { 4.0 } else { bar };
        let colour = if d.fallback.is_some() {
            "#d62728"
        } else if bar >= 0.0 {
            "#2ca02c"
        } else {
            "#1f77b4"
        };
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" opacity=\"0.6\"/>",
            x(d.at),
            (h / 2.0 - bar.max(0.0)),
            (d.duration_h * 3600.0 / 86_400.0 * w).max(0.5),
            bar.abs()
        ));
    }
    let points: Vec<String> = input
        .prices
        .iter()
        .map(|(t, p)| format!("{:.1},{:.1}", x(*t), y(*p)))
        .collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\"/></svg>",
        points.join(" ")
    ));
    svg
}

/// The page.
pub fn render(input: &PageInput) -> String {
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    let age = input
        .data_end
        .zip(input.clock)
        .map_or("-".into(), |(e, c)| {
            format!("{} min", (c - e).num_minutes())
        });
    let last = input.decisions.last();
    let set_point = last.map_or("no decision yet".into(), |d| {
        format!(
            "{:+.3} MW from {} ({})",
            d.power_mw,
            d.at.format("%H:%M"),
            d.fallback
                .as_deref()
                .map_or("model".into(), |f| format!("fallback: {}", escape(f)))
        )
    });
    let estimate = input.latest_estimate.map_or(String::new(), |(t, p)| {
        format!(
            " · <span class=\"k\">running estimate</span> {p:.2} EUR/MWh ({})",
            t.format("%H:%M")
        )
    });
    let cap = input
        .cycles_cap
        .map_or("no cap".into(), |c| format!("cap {c}"));
    let rows: String = input
        .decisions
        .iter()
        .rev()
        .take(12)
        .map(|d| {
            format!(
                "<tr><td>{}</td><td>{:+.3}</td><td>{}</td></tr>",
                d.at.format("%H:%M"),
                d.power_mw,
                d.fallback
                    .as_deref()
                    .or(d.control.as_deref())
                    .map_or("model".into(), escape)
            )
        })
        .collect();
    let errors: String = input
        .errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"30\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>imbarb live</title>\
         <style>body{{font-family:sans-serif;margin:1em;max-width:60em}}table{{border-collapse:collapse}}\
         td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}}.k{{color:#555}}\
         p,li{{overflow-wrap:anywhere}}svg{{max-width:100%;height:auto}}</style></head><body>\
         <h1>imbarb {mode}</h1><p><b>Set-point:</b> {set_point}</p>\
         <p><span class=\"k\">clock</span> {clock} · <span class=\"k\">data up to</span> {data} ({age} old) · \
         <span class=\"k\">SoC</span> {soc:.3} / {energy} MWh · <span class=\"k\">cycles today</span> {cycles:.2} ({cap}) · \
         <span class=\"k\">P&amp;L today</span> {pnl:.2} EUR · <span class=\"k\">decisions</span> {n} ({fb} by the fallback){estimate}</p>{lifecycle}\
         {chart}<h2>Latest decisions</h2><table><tr><th>time (UTC)</th><th>MW</th><th>by</th></tr>{rows}</table>\
         <h2>Errors</h2><ul>{errors}</ul><p class=\"k\">model {model}</p></body></html>",
        mode = escape(input.mode),
        clock = when(input.clock),
        data = when(input.data_end),
        soc = input.soc_mwh,
        energy = input.energy_mwh,
        cycles = input.cycles_used,
        pnl = input.pnl_eur,
        n = input.counts.0,
        fb = input.counts.1,
        lifecycle = lifecycle(input.lifecycle),
        chart = chart(input),
        model = escape(&input.model.chars().take(12).collect::<String>()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(at: &str, power: f64, fallback: Option<&str>) -> DecisionEvent {
        let at: DateTime<Utc> = at.parse().unwrap();
        DecisionEvent {
            at,
            day: imbarb_market::calendar::local_day(at),
            power_mw: power,
            proposed_mw: Some(power),
            fallback: fallback.map(String::from),
            throughput_mwh: 0.0,
            soc_after_mwh: 1.0,
            duration_h: 0.25,
            profit_eur: None,
            model: "abc".into(),
            scores: vec![],
            control: None,
        }
    }

    /// The page shows the set-point in force and why, the running estimate, a bar per decision
    /// (red for the fallback's) and the price line; markup in reasons is escaped.
    #[test]
    fn the_page_shows_the_day_and_escapes_what_it_quotes() {
        let decisions = [
            decision("2024-06-01T09:45:00Z", 0.0, None),
            decision("2024-06-01T10:00:00Z", 1.0, None),
            decision("2024-06-01T10:15:00Z", 0.0, Some("model failed: <gap>")),
        ];
        let prices = [(decisions[1].at, 80.0), (decisions[2].at, 120.0)];
        let html = render(&PageInput {
            mode: "live",
            model: "0123456789abcdef0123",
            clock: Some(decisions[2].at),
            data_end: Some(decisions[2].at),
            soc_mwh: 1.2,
            energy_mwh: 2.0,
            cycles_used: 0.5,
            cycles_cap: Some(1.1),
            pnl_eur: 12.5,
            decisions: &decisions,
            prices: &prices,
            counts: (3, 1),
            errors: &["fetch ods162: <timeout>".into()],
            latest_estimate: Some(("2024-06-01T10:21:00Z".parse().unwrap(), 123.456)),
            lifecycle: &crate::lifecycle::LifecycleStatus {
                control: crate::lifecycle::Control::Shadow("mpc".into()),
                alerts: vec!["the model earned <10".into()],
                window_eur_per_day: vec![("model".into(), Some(10.0)), ("mpc".into(), None)],
                ..Default::default()
            },
        });
        assert!(
            html.contains("<b>mpc shadow</b> (handed over by the drift guard)")
                && html.contains("window</span> model 10.0</p>")
                && html.contains("<li>guard: the model earned &lt;10</li>"),
            "{html}"
        );
        assert!(
            html.contains(
                "Set-point:</b> +0.000 MW from 10:15 (fallback: model failed: &lt;gap&gt;)"
            ),
            "{html}"
        );
        assert!(
            html.contains("running estimate</span> 123.46 EUR/MWh (10:21)"),
            "{html}"
        );
        // The discharge bar and the fallback's red tick; the model's idle draws nothing.
        assert_eq!(html.matches("<rect").count(), 2, "{html}");
        assert!(html.contains("fill=\"#d62728\""));
        assert!(
            html.contains("<polyline")
                && html.contains("cap 1.1")
                && html.contains("model 0123456789ab<")
        );
        assert!(html.contains("&lt;timeout&gt;") && !html.contains("<timeout>"));
    }
}
