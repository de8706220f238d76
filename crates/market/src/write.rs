//! Market data as canonical CSV text (written to disk atomically by `imbarb_util::fs`).

use crate::{Component, MarketData, Pricing};

/// The `price_source` column: `synthetic` for generated data, so the label survives a round
/// trip through a file; empty otherwise.
fn source_label(data: &MarketData) -> &'static str {
    if data.meta.synthetic {
        crate::read::SYNTHETIC_SOURCE
    } else {
        ""
    }
}

fn opt(out: &mut String, v: Option<f64>) {
    use std::fmt::Write as _;
    if let Some(v) = v {
        let _ = write!(out, "{v}");
    }
}

/// Renders the quarter-hour part of `data` as canonical CSV. Single-price markets get one
/// `imbalance_price_eur_mwh` column, dual-price markets `price_long_eur_mwh` and
/// `price_short_eur_mwh`; component columns appear when any row has them.
pub fn canonical_qh_csv(data: &MarketData) -> String {
    use std::fmt::Write as _;
    let comps: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| data.qh.iter().any(|r| r.components.get(*c).is_some()))
        .collect();
    let dual = data.meta.pricing == Pricing::Dual;
    let mut out = String::with_capacity(data.qh.len() * 64);
    out.push_str("timestamp_utc,");
    out.push_str(if dual {
        "price_long_eur_mwh,price_short_eur_mwh"
    } else {
        "imbalance_price_eur_mwh"
    });
    for c in &comps {
        out.push(',');
        out.push_str(c.canonical_name());
    }
    out.push_str(",quality_status,market,price_source\n");
    let market = format!("{:?}", data.meta.market);
    let source = source_label(data);
    for r in &data.qh {
        let _ = write!(out, "{}", r.start_utc.format("%Y-%m-%dT%H:%M:%SZ"));
        if dual {
            let _ = write!(
                out,
                ",{},{}",
                r.price.long_eur_per_mwh(),
                r.price.short_eur_per_mwh()
            );
        } else {
            let _ = write!(out, ",{}", r.price.reference_eur_per_mwh());
        }
        for c in &comps {
            out.push(',');
            opt(&mut out, r.components.get(*c));
        }
        let _ = writeln!(out, ",{},{market},{source}", r.quality.label());
    }
    out
}

/// Renders the per-minute part of `data` as canonical CSV (`minute_utc` is the minute the
/// estimate was computed in; it becomes public at the end of that minute).
pub fn canonical_minute_csv(data: &MarketData) -> String {
    use std::fmt::Write as _;
    let comps: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| data.minutes.iter().any(|r| r.components.get(*c).is_some()))
        .collect();
    let mut out = String::with_capacity(data.minutes.len() * 80);
    out.push_str("minute_utc,quarter_hour_start_utc,imbalance_price_eur_mwh");
    for c in &comps {
        out.push(',');
        out.push_str(c.canonical_name());
    }
    out.push_str(",quality_status,price_source\n");
    let source = source_label(data);
    for r in &data.minutes {
        let _ = write!(
            out,
            "{},{},",
            r.minute_utc.format("%Y-%m-%dT%H:%M:%SZ"),
            r.qh_start_utc.format("%Y-%m-%dT%H:%M:%SZ")
        );
        opt(&mut out, r.price_estimate_eur_per_mwh);
        for c in &comps {
            out.push(',');
            opt(&mut out, r.components.get(*c));
        }
        let _ = writeln!(out, ",{},{source}", r.quality.label());
    }
    out
}
