//! Backtests: run any `Policy` over a set of days and keep a per-quarter-hour ledger and the
//! per-day P&L.

use chrono::{DateTime, NaiveDate, Utc};
use imbarb_sim::{rollout, EnvConfig, MarketDays, MarketFeatures, Policy};
use serde::Serialize;

/// One quarter-hour of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    /// Brussels day.
    pub date: NaiveDate,
    /// Quarter-hour start, UTC.
    pub qh_start_utc: DateTime<Utc>,
    /// Quarter-hour index within the day.
    pub qh: usize,
    /// Price a long position receives, EUR/MWh.
    pub price_long_eur_per_mwh: f64,
    /// Price a short position pays, EUR/MWh.
    pub price_short_eur_per_mwh: f64,
    /// Mean grid power over the quarter-hour, MW (> 0 discharge).
    pub power_mw: f64,
    /// Net grid energy, MWh (> 0 injected).
    pub energy_mwh: f64,
    /// Mean power refused by physics or the cycle budget, MW.
    pub clipped_mw: f64,
    /// Cell energy at the end of the quarter-hour, MWh.
    pub soc_mwh: f64,
    /// Cycles used today at the end of the quarter-hour.
    pub cycles: f64,
    /// Settlement minus degradation, EUR.
    pub profit_eur: f64,
}

/// One day of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayPnl {
    /// Brussels day.
    pub date: NaiveDate,
    /// Profit, EUR.
    pub profit_eur: f64,
    /// Full equivalent cycles.
    pub cycles: f64,
}

/// A policy's backtest over some days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// The policy's name.
    pub policy: String,
    /// Per-quarter-hour ledger.
    pub ledger: Vec<LedgerRow>,
    /// Per-day P&L.
    pub days: Vec<DayPnl>,
}

/// Runs `policy` over `day_indices` (chronological) and books the ledger.
pub fn backtest(
    days: &MarketDays,
    features: &MarketFeatures,
    config: &EnvConfig,
    day_indices: &[usize],
    policy: &mut dyn Policy,
) -> Result<Backtest, imbarb_sim::SimError> {
    let per_qh = config.granularity.decisions_per_qh();
    let duration_h = config.granularity.duration_h();
    let mut ledger: Vec<LedgerRow> = Vec::with_capacity(day_indices.len() * 96);
    let mut pnl: Vec<DayPnl> = Vec::with_capacity(day_indices.len());
    rollout(days, features, config, day_indices, policy, |s| {
        let day = &days.days[s.day_index];
        if s.minute == 0 {
            if pnl.last().is_none_or(|p| p.date != s.date) {
                pnl.push(DayPnl {
                    date: s.date,
                    profit_eur: 0.0,
                    cycles: 0.0,
                });
            }
            let price = day.prices[s.qh];
            ledger.push(LedgerRow {
                date: s.date,
                qh_start_utc: days.qh_start(day.grid_offset + s.qh),
                qh: s.qh,
                price_long_eur_per_mwh: price.long_eur_per_mwh(),
                price_short_eur_per_mwh: price.short_eur_per_mwh(),
                power_mw: 0.0,
                energy_mwh: 0.0,
                clipped_mw: 0.0,
                soc_mwh: 0.0,
                cycles: 0.0,
                profit_eur: 0.0,
            });
        }
        if let (Some(row), Some(p)) = (ledger.last_mut(), pnl.last_mut()) {
            row.energy_mwh += s.outcome.grid_energy_mwh;
            row.power_mw += s.outcome.grid_energy_mwh / (duration_h * per_qh as f64);
            row.clipped_mw += s.outcome.clipped_mw / per_qh as f64;
            row.soc_mwh = s.soc_after_mwh;
            row.cycles = s.cycles_after;
            row.profit_eur += s.reward_eur;
            p.profit_eur += s.reward_eur;
            p.cycles = s.cycles_after;
        }
    })?;
    Ok(Backtest {
        policy: policy.name(),
        ledger,
        days: pnl,
    })
}

impl Backtest {
    /// The ledger as CSV text.
    pub fn ledger_csv(&self) -> String {
        let mut out = String::from(
            "date,qh_start_utc,qh,price_long_eur_mwh,price_short_eur_mwh,power_mw,energy_mwh,clipped_mw,soc_mwh,cycles,profit_eur\n",
        );
        for r in &self.ledger {
            out.push_str(&format!(
                "{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.4}\n",
                r.date,
                r.qh_start_utc.format("%Y-%m-%dT%H:%M:%SZ"),
                r.qh,
                r.price_long_eur_per_mwh,
                r.price_short_eur_per_mwh,
                r.power_mw,
                r.energy_mwh,
                r.clipped_mw,
                r.soc_mwh,
                r.cycles,
                r.profit_eur
            ));
        }
        out
    }

    /// The per-day P&L as CSV text.
    pub fn daily_csv(&self) -> String {
        let mut out = String::from("date,profit_eur,cycles\n");
        for d in &self.days {
            out.push_str(&format!("{},{:.4},{:.6}\n", d.date, d.profit_eur, d.cycles));
        }
        out
    }
}
