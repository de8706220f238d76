//! imbarb-eval: backtests, ledgers and metrics; the perfect-foresight reference for "% of perfect".

pub mod backtest;
pub mod metrics;
pub mod oracle;
pub mod summary;

pub use backtest::{backtest, Backtest, DayPnl, LedgerRow};
pub use metrics::{render_table, Metrics};
pub use oracle::{oracle_policy, Oracle};
pub use summary::{mean_interval, SeedSummary};
