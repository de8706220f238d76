//! `imbarb data ...`: inspect, convert, synth, calibrate.

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use imbarb_fetch::{fetch, ClientConfig, Dataset, EliaClient, FetchRequest};
use imbarb_market::summary::{DataSummary, Implausible, PLAUSIBLE_PRICE_EUR_PER_MWH};
use imbarb_market::synth::{self, SynthParams};
use imbarb_market::write::{canonical_minute_csv, canonical_qh_csv};
use imbarb_market::MAX_ABS_VALUE;
use imbarb_market::{read_files, source};
use imbarb_util::fs::write_atomic;
use imbarb_util::range::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Summarise one or more files (merged): period, rows, quarter-hours per day, gaps,
    /// duplicates, price statistics, negative share, quality counts.
    #[command(after_help = "Examples:
  imbarb data inspect synthetic
  imbarb data inspect ../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv
  imbarb data inspect ods047_2023-01.csv ods047_2023-02.csv --json

A source is a file (any supported Elia / TenneT / canonical layout, recognised from its header)
or `synthetic[:FROM..TO][:seed=N][:minutes]` for the embedded synthetic market.")]
    Inspect {
        /// Files to read (merged), or `synthetic...`.
        #[arg(required = true)]
        sources: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Warn about prices beyond this magnitude, EUR/MWh (values beyond 100,000 are refused
        /// when read).
        #[arg(long, default_value_t = PLAUSIBLE_PRICE_EUR_PER_MWH)]
        plausible_price: f64,
    },
    /// Download an Elia Open Data dataset into a canonical CSV (created, or extended: the same
    /// window again changes nothing, an interrupted fetch resumes, validated rows replace
    /// not-validated ones).
    #[command(after_help = "Examples:
  imbarb data fetch ods134 --from 2024-06-01 --to 2024-06-30 --out be_qh_2024-06.csv
  imbarb data fetch ods047 --from 2023-01-01 --to 2023-12-31 --out be_qh_2023.csv
  imbarb data fetch ods161 --from 2025-04-08 --to 2025-04-08 --out be_minutes.csv

Datasets: ods047 / ods134 / ods162 (prices per quarter-hour: pre-MARI history, post-MARI
history, today), ods046 / ods133 / ods161 (prices per minute: pre-MARI, post-MARI history, the
current hour), ods126 / ods169 (system imbalance per minute: history, near real-time). Dates are
Brussels days; quarter-hour datasets are asked for a month at a time, per-minute ones a day.
The portal is https://opendata.elia.be (its API: /api/explore/v2.1/catalog/datasets/ID/exports/csv);
--base-url or IMBARB_ELIA_URL point elsewhere.")]
    Fetch {
        /// Dataset id (ods047, ods134, ods162, ods046, ods133, ods161, ods126, ods169).
        dataset: String,
        /// First Brussels day.
        #[arg(long)]
        from: NaiveDate,
        /// Last Brussels day (included).
        #[arg(long)]
        to: NaiveDate,
        /// The canonical CSV to create or extend (written atomically after each window).
        #[arg(long)]
        out: PathBuf,
        /// The portal's base URL (default: $IMBARB_ELIA_URL, else https://opendata.elia.be).
        #[arg(long)]
        base_url: Option<String>,
        /// Tries per window on transient failures (5xx, 429, broken connections), 1 to 20.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=20))]
        attempts: u32,
    },
    /// Convert files of any supported layout to imbarb's canonical CSV (UTC, ascending).
    #[command(after_help = "Examples:
  imbarb data convert ../shared/data/raw/elia_ods047_export_2023-01_2023-05.csv --out ods047.csv
  imbarb data convert ods161_a.csv ods161_b.csv --out minutes.csv

Quarter-hour inputs give a quarter-hour file; per-minute inputs a per-minute file.")]
    Convert {
        /// Files to read (merged).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output path (written atomically).
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate a synthetic market (labelled synthetic) as canonical CSV.
    #[command(after_help = "Examples:
  imbarb data synth --from 2023-01-01 --to 2023-12-31 --seed 1 --out synthetic.csv
  imbarb data synth --from 2023-01-01 --to 2023-01-31 --seed 1 --out qh.csv --minutes-out minutes.csv
  imbarb data synth --from 2023-01-01 --to 2023-12-31 --params my_params.json --out synthetic.csv")]
    Synth {
        /// First Brussels day.
        #[arg(long)]
        from: NaiveDate,
        /// Last Brussels day (included).
        #[arg(long)]
        to: NaiveDate,
        /// Generator seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Quarter-hour output (canonical CSV, written atomically).
        #[arg(long)]
        out: PathBuf,
        /// Also write per-minute running estimates here.
        #[arg(long)]
        minutes_out: Option<PathBuf>,
        /// Parameters from `imbarb data calibrate` (default: the embedded calibration).
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Fit the synthetic-market parameters to a real quarter-hour file and print them as JSON.
    #[command(after_help = "Examples:
  imbarb data calibrate ../shared/data/elia_be_imbalance_qh_2022-07_2023-08_combined.csv \\
      --minutes ../shared/data/elia_be_imbalance_price_minute_ods161_samples_2024-09-06_2025-04-08.csv
  imbarb data calibrate prices.csv --out params.json

Without --minutes, the per-minute residual paths are taken from the embedded calibration.")]
    Calibrate {
        /// Real quarter-hour price file(s).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Per-minute price file (ods161/ods133 or canonical) for the running-estimate residuals.
        #[arg(long)]
        minutes: Option<PathBuf>,
        /// Write the parameters here (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Inspect {
            sources,
            json,
            plausible_price,
        } => {
            Range::above(0.0, MAX_ABS_VALUE).check("--plausible-price", plausible_price)?;
            let data = source::load(&sources)?;
            let mut summary = DataSummary::of(&data);
            summary.implausible = Implausible::of(&data, plausible_price);
            if json {
                outln!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                out!("{}", summary.render_text());
            }
        }
        DataCommand::Fetch {
            dataset,
            from,
            to,
            out,
            base_url,
            attempts,
        } => {
            let dataset = Dataset::find(&dataset).map_err(anyhow::Error::msg)?;
            let mut config = ClientConfig::default();
            if let Some(url) = base_url {
                config.base_url = url;
            }
            config.retry.attempts = attempts;
            let client = EliaClient::new(config);
            let report = fetch(
                &client,
                &FetchRequest {
                    dataset,
                    from,
                    to,
                    out: out.clone(),
                },
                &|w| {
                    if w.skipped {
                        eprintln!("{} .. {}: held whole and validated, skipped", w.from, w.to);
                    } else {
                        eprintln!("{} .. {}: {} rows", w.from, w.to, w.rows);
                    }
                },
            )?;
            outln!(
                "{}: {} {} rows ({} new, {} revised); {} windows fetched, {} already held",
                out.display(),
                dataset.id,
                report.total,
                report.added,
                report.replaced,
                report.fetched,
                report.skipped
            );
        }
        DataCommand::Convert { files, out } => {
            let data = read_files(&files)?;
            let text = match (data.qh.is_empty(), data.minutes.is_empty()) {
                (false, true) => canonical_qh_csv(&data),
                (true, false) => canonical_minute_csv(&data),
                (true, true) => bail!("the input holds no rows to convert"),
                (false, false) => bail!(
                    "the inputs mix quarter-hour and per-minute files; convert them separately"
                ),
            };
            write_atomic(&out, text.as_bytes())?;
            eprintln!(
                "wrote {} ({} quarter-hours, {} minutes)",
                out.display(),
                data.qh.len(),
                data.minutes.len()
            );
        }
        DataCommand::Synth {
            from,
            to,
            seed,
            out,
            minutes_out,
            params,
        } => {
            let params = load_params(params.as_deref())?;
            let data = synth::generate(&params, from, to, seed, minutes_out.is_some())?;
            write_atomic(&out, canonical_qh_csv(&data).as_bytes())?;
            if let Some(m) = &minutes_out {
                write_atomic(m, canonical_minute_csv(&data).as_bytes())?;
            }
            eprintln!(
                "wrote SYNTHETIC market {from}..{to} seed {seed}: {} quarter-hours to {}{}",
                data.qh.len(),
                out.display(),
                minutes_out
                    .map(|m| format!(", {} minutes to {}", data.minutes.len(), m.display()))
                    .unwrap_or_default()
            );
        }
        DataCommand::Calibrate {
            files,
            minutes,
            out,
        } => {
            let qh = read_files(&files)?;
            let minute_data = minutes.as_ref().map(read_files_one).transpose()?;
            let params = synth::calibrate(&qh, minute_data.as_ref())?;
            let json = serde_json::to_string_pretty(&params)? + "\n";
            match out {
                Some(path) => {
                    write_atomic(&path, json.as_bytes())?;
                    eprintln!("wrote {}", path.display());
                }
                None => out!("{json}"),
            }
        }
    }
    Ok(())
}

fn read_files_one(p: &PathBuf) -> Result<imbarb_market::MarketData> {
    Ok(read_files(std::slice::from_ref(p))?)
}

fn load_params(path: Option<&Path>) -> Result<SynthParams> {
    match path {
        None => Ok(SynthParams::embedded()?),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(SynthParams::from_json(p, &text)?)
        }
    }
}
