//! Metrics a trader reads: profit per day and per MW-year, share of the perfect-foresight
//! optimum, cycling, and the risk of daily P&L (std, VaR and CVaR at 5 % and 10 %, drawdown,
//! losing days).

use crate::backtest::Backtest;
use serde::{Deserialize, Serialize};

/// Summary metrics of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Policy name.
    pub policy: String,
    /// Days evaluated.
    pub days: usize,
    /// Total profit, EUR.
    pub total_eur: f64,
    /// Mean profit per day, EUR.
    pub eur_per_day: f64,
    /// Annualised profit per MW of rated power, EUR/MW/year.
    pub eur_per_mw_year: f64,
    /// Total profit as a percentage of the perfect-foresight optimum on the same days and
    /// constraints (`None` when no optimum was given or it is not positive).
    pub pct_of_perfect: Option<f64>,
    /// Mean full equivalent cycles per day.
    pub cycles_per_day: f64,
    /// Standard deviation of daily P&L, EUR.
    pub daily_std_eur: f64,
    /// VaR 5 %: the lower 5 % quantile of daily P&L (as a P&L level), EUR.
    pub var_5_eur: f64,
    /// CVaR 5 %: the mean of the worst 5 % of daily P&L, EUR.
    pub cvar_5_eur: f64,
    /// VaR 10 %: the lower 10 % quantile of daily P&L, EUR.
    pub var_10_eur: f64,
    /// CVaR 10 %: the mean of the worst 10 % of daily P&L, EUR.
    pub cvar_10_eur: f64,
    /// Largest fall of cumulative P&L from a previous peak, EUR (>= 0).
    pub max_drawdown_eur: f64,
    /// Share of days with a loss.
    pub losing_day_share: f64,
    /// Profit per full equivalent cycle, EUR (`None` without cycling).
    pub eur_per_cycle: Option<f64>,
}

/// VaR_alpha and CVaR_alpha of daily P&L, by imbarb-risk's one definition (lower quantile;
/// mean of the worst alpha share), so that tables and the agents' risk measures agree; NaN
/// without samples.
pub fn var_cvar(values: &[f64], alpha: f64) -> (f64, f64) {
    imbarb_risk::measure::sample_var_cvar(values, alpha).unwrap_or((f64::NAN, f64::NAN))
}

/// Largest peak-to-trough fall of the cumulative sum of `daily`.
pub fn max_drawdown(daily: &[f64]) -> f64 {
    let (mut cum, mut peak, mut dd) = (0.0f64, 0.0f64, 0.0f64);
    for x in daily {
        cum += x;
        peak = peak.max(cum);
        dd = dd.max(peak - cum);
    }
    dd
}

impl Metrics {
    /// Computes the metrics of `bt`; `oracle_total_eur` is the optimum on the same days and
    /// constraints, `rated_mw` the battery's rated power.
    pub fn of(bt: &Backtest, oracle_total_eur: Option<f64>, rated_mw: f64) -> Metrics {
        let daily: Vec<f64> = bt.days.iter().map(|d| d.profit_eur).collect();
        let n = daily.len().max(1) as f64;
        let total: f64 = daily.iter().sum();
        let mean = total / n;
        let std = (daily.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let cycles: f64 = bt.days.iter().map(|d| d.cycles).sum();
        let (var_5, cvar_5) = var_cvar(&daily, 0.05);
        let (var_10, cvar_10) = var_cvar(&daily, 0.10);
        Metrics {
            policy: bt.policy.clone(),
            days: daily.len(),
            total_eur: total,
            eur_per_day: mean,
            eur_per_mw_year: if rated_mw > 0.0 {
                mean * 365.0 / rated_mw
            } else {
                f64::NAN
            },
            pct_of_perfect: oracle_total_eur
                .filter(|o| *o > 0.0)
                .map(|o| 100.0 * total / o),
            cycles_per_day: cycles / n,
            daily_std_eur: std,
            var_5_eur: var_5,
            cvar_5_eur: cvar_5,
            var_10_eur: var_10,
            cvar_10_eur: cvar_10,
            max_drawdown_eur: max_drawdown(&daily),
            losing_day_share: daily.iter().filter(|x| **x < 0.0).count() as f64 / n,
            eur_per_cycle: (cycles > 1e-9).then(|| total / cycles),
        }
    }
}

/// Renders metrics as an aligned text table.
pub fn render_table(rows: &[Metrics]) -> String {
    let mut out = format!(
        "{:<44} {:>9} {:>10} {:>8} {:>7} {:>9} {:>9} {:>9} {:>7} {:>9}\n",
        "policy",
        "EUR/day",
        "kEUR/MW/y",
        "% PF",
        "cyc/d",
        "std/day",
        "VaR10%",
        "CVaR10%",
        "loss d",
        "EUR/cyc"
    );
    for m in rows {
        let name: String = m.policy.chars().take(44).collect();
        out.push_str(&format!(
            "{:<44} {:>9.1} {:>10.1} {:>8} {:>7.2} {:>9.1} {:>9.1} {:>9.1} {:>6.1}% {:>9}\n",
            name,
            m.eur_per_day,
            m.eur_per_mw_year / 1000.0,
            m.pct_of_perfect.map_or("-".into(), |p| format!("{p:.1}")),
            m.cycles_per_day,
            m.daily_std_eur,
            m.var_10_eur,
            m.cvar_10_eur,
            m.losing_day_share * 100.0,
            m.eur_per_cycle.map_or("-".into(), |e| format!("{e:.1}")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_cvar_and_drawdown_by_hand() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let (var, cvar) = var_cvar(&v, 0.1);
        assert_eq!((var, cvar), (1.0, 1.0)); // the worst day of ten
        let (var, cvar) = var_cvar(&v, 0.25);
        // The 3rd worst day; the mean of the worst 2.5 days: (1 + 2 + 0.5 x 3) / 2.5.
        assert_eq!(var, 3.0);
        assert!((cvar - 1.8).abs() < 1e-12, "{cvar}");
        assert!(var_cvar(&[], 0.1).0.is_nan());
        assert_eq!(max_drawdown(&[10.0, -3.0, -4.0, 5.0, -9.0, 1.0]), 11.0);
        assert_eq!(max_drawdown(&[1.0, 2.0]), 0.0);
    }
}
