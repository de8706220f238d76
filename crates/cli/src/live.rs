//! `imbarb live`: the decision service (live on Elia's data, or replaying recorded days), and
//! `imbarb live export` of a day's ledger from its journal.

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use imbarb_live::http::Mode;
use imbarb_live::journal::Journal;
use imbarb_live::run::{open, run_live, run_replay, LiveConfig};
use imbarb_market::source::{load_sources, DataSource};
use std::path::PathBuf;

/// Run the service.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  imbarb live --run runs/qrdqn-seed0 --config live.toml
  imbarb live --run runs/qrdqn-seed0 --config live.toml --replay belgium --from 2023-08-28 --to 2023-08-30 --speed 600
  imbarb live export --config live.toml --day 2023-08-29
  imbarb live days --config live.toml

live.toml (every key optional; paths relative to the file):
  bind = \"127.0.0.1:8750\"          # the HTTP API
  token = \"...\"                    # bearer token for POST (and for all, beyond loopback)
  journal = \"live/journal.sqlite\"  # every decision, telemetry message, fetch
  data_dir = \"live/data\"           # fetched Elia data
  history = [\"history.csv\"]        # past prices (the lags at the start)
  qh_dataset = \"ods162\"            # polled every poll_seconds (and minute_dataset for minute runs)
  [safety]
  max_data_age_min = 30             # older market data: the fallback decides (idle)
  max_telemetry_age_min = 5         # older telemetry: the fallback decides
  soc_tolerance_mwh = 0.1           # measured SoC this far from the commanded: the fallback decides
  [shadow]
  baselines = [\"rule\", \"mpc\"]       # booked beside the model, refit daily on the last refit_days
  [guard]
  window_days = 7                   # the model trailing the best shadow over this window: alert
  handover = true                   # ... and hand control to that shadow (POST /v1/guard/release)

API: GET /v1/decision, POST /v1/telemetry {at, soc_mwh, available_mw, throughput_today_mwh},
GET /v1/status, /health, /ready, /metrics, POST /v1/guard/release."
)]
pub struct LiveArgs {
    /// What else than running.
    #[command(subcommand)]
    pub action: Option<LiveAction>,
    /// The trained run.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The live config (TOML; default: every key's default, the API on 127.0.0.1:8750, the
    /// journal in live/journal.sqlite).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Paper trading: replay these data sources instead of polling Elia.
    #[arg(long, num_args = 1..)]
    pub replay: Option<Vec<DataSource>>,
    /// First Brussels day replayed.
    #[arg(long, requires = "replay")]
    pub from: Option<NaiveDate>,
    /// Last Brussels day replayed (included).
    #[arg(long, requires = "replay")]
    pub to: Option<NaiveDate>,
    /// Replay speed: simulated seconds per real second (0: as fast as it goes).
    #[arg(long, default_value_t = 0.0, requires = "replay")]
    pub speed: f64,
}

/// `imbarb live export`.
#[derive(Debug, Subcommand)]
pub enum LiveAction {
    /// Write a day's ledger (one row per decision) from the journal as CSV.
    Export {
        /// The live config (its journal; default live/journal.sqlite).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The Brussels day.
        #[arg(long)]
        day: NaiveDate,
    },
    /// Write every closed day's P&L from the journal as CSV: what the battery earned, the
    /// model's and every shadow's book, who was in control; then the guard's events.
    Days {
        /// The live config (its journal; default live/journal.sqlite).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn config(path: Option<&PathBuf>) -> Result<LiveConfig> {
    match path {
        Some(p) => LiveConfig::read(p).map_err(anyhow::Error::msg),
        None => Ok(LiveConfig::default()),
    }
}

pub fn run(args: LiveArgs) -> Result<()> {
    if let Some(LiveAction::Export { config: path, day }) = &args.action {
        let c = config(path.as_ref())?;
        let journal = Journal::open(&c.journal)?;
        out!("{}", journal.ledger_csv(*day)?);
        return Ok(());
    }
    if let Some(LiveAction::Days { config: path }) = &args.action {
        let c = config(path.as_ref())?;
        let journal = Journal::open(&c.journal)?;
        out!("{}", days_csv(&journal)?);
        return Ok(());
    }
    let Some(run_dir) = &args.run else {
        bail!("--run: which trained run to serve");
    };
    let c = config(args.config.as_ref())?;
    if !(args.speed.is_finite() && args.speed >= 0.0) {
        bail!("--speed = {}: expected a number >= 0", args.speed);
    }
    match &args.replay {
        Some(sources) => {
            let (Some(from), Some(to)) = (args.from, args.to) else {
                bail!("--replay needs --from and --to");
            };
            let market = load_sources(sources).context("--replay")?;
            let days: Vec<NaiveDate> = imbarb_market::calendar::days_inclusive(from, to).collect();
            let (svc, listener) = open(run_dir, &c, Mode::Replay).map_err(anyhow::Error::msg)?;
            eprintln!(
                "replaying {from}..{to} at {} on http://{}",
                if args.speed > 0.0 {
                    format!("{}x", args.speed)
                } else {
                    "full speed".into()
                },
                listener.local_addr()?
            );
            run_replay(svc.clone(), listener, &market, &days, args.speed)
                .map_err(anyhow::Error::msg)?;
            let status = svc
                .status
                .lock()
                .map(|s| s.pnl_today_eur)
                .unwrap_or(f64::NAN);
            outln!(
                "replayed {} decisions ({} by the fallback); last day's P&L {status:.2} EUR; journal {}",
                svc.counters.decisions.load(std::sync::atomic::Ordering::Relaxed),
                svc.counters.fallbacks.load(std::sync::atomic::Ordering::Relaxed),
                c.journal.display()
            );
            Ok(())
        }
        None => {
            let (svc, listener) = open(run_dir, &c, Mode::Live).map_err(anyhow::Error::msg)?;
            eprintln!(
                "serving {} on http://{}",
                run_dir.display(),
                listener.local_addr()?
            );
            run_live(svc, listener, &c).map_err(anyhow::Error::msg)
        }
    }
}

/// Every closed day of `journal` as CSV (one column per shadow, as the first day names them).
fn days_csv(journal: &Journal) -> Result<String> {
    use imbarb_live::journal::EventKind;
    use imbarb_live::lifecycle::DayEvent;
    let days: Vec<DayEvent> = journal.all(EventKind::Day)?;
    let shadows: Vec<String> = days
        .first()
        .map(|d| d.result.shadows.iter().map(|s| s.0.clone()).collect())
        .unwrap_or_default();
    let mut out = String::from("day,control,epoch,sent_eur,model_eur");
    for s in &shadows {
        out.push_str(&format!(",{s}_eur"));
    }
    out.push_str(",challenger_eur\n");
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for d in &days {
        out.push_str(&format!(
            "{},{},{},{:.4},{:.4}",
            d.result.day, d.control, d.epoch, d.sent_eur, d.result.model_eur
        ));
        for s in &shadows {
            let v = d
                .result
                .shadows
                .iter()
                .find(|x| x.0 == *s)
                .and_then(|x| x.1);
            out.push_str(&format!(",{}", cell(v)));
        }
        out.push_str(&format!(",{}\n", cell(d.challenger_eur)));
    }
    Ok(out)
}
