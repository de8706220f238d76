//! Parsing benchmarks (divan): the 40k-row combined CSV, the raw ods047 export, and one million
//! per-minute rows in Elia's ods161 layout. Before timing, prints each parse's peak heap use as a
//! multiple of the file size (target: below 3x).
//!
//! Run: `cargo bench -p imbarb-market --bench parse`

use imbarb_market::synth::{generate, SynthParams};
use imbarb_util::testdata::shared_data_dir;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Counts live heap bytes and their high-water mark. Written here because peak *live* bytes of
/// one call is exactly what the memory target asks and no profiling crate reports it directly.
struct PeakAlloc;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// A temporary ods161-layout export with 1,000,000 per-minute rows (synthetic prices), newest
/// first with Brussels offsets like a real download.
fn million_minute_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            use std::fmt::Write;
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("ods161_1m.csv");
            let from: chrono::NaiveDate = "2022-01-01".parse().unwrap();
            let to = from + chrono::TimeDelta::days(700);
            let params = SynthParams::embedded().expect("embedded params");
            let data = generate(&params, from, to, 1, true).expect("synthetic market");
            let mut text = String::from("\u{feff}Datetime;Resolution code;Quarter hour;Quality status;ACE;System imbalance;Alpha;Alpha';Marginal incremental price;Marginal decremental price;Imbalance Price\n");
            let brussels = chrono_tz::Europe::Brussels;
            for m in data.minutes.iter().rev().take(1_000_000) {
                let p = m.price_estimate_eur_per_mwh.unwrap_or_default();
                let _ = writeln!(
                    text,
                    "{};PT1M;{};NV;-55.073;-107.004;0.0;0.0;{:.3};-10.338;{p:.3}",
                    m.minute_utc.with_timezone(&brussels).to_rfc3339(),
                    m.qh_start_utc.with_timezone(&brussels).to_rfc3339(),
                    p + 12.5,
                );
            }
            std::fs::write(&path, text).expect("write bench file");
            (dir, path)
        })
        .1
}

fn shared(name: &str) -> Option<PathBuf> {
    shared_data_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
}

fn report_peak_memory(name: &str, path: &Path) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(1) as f64;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let data = imbarb_market::read_file(path).expect("parse");
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let rows = data.qh.len() + data.minutes.len();
    drop(data);
    println!(
        "peak memory {name}: {:.1} MB for a {:.1} MB file = {:.2}x file size ({rows} rows)",
        peak as f64 / 1e6,
        size / 1e6,
        peak as f64 / size
    );
}

fn main() {
    for (name, file) in [
        (
            "combined CSV",
            shared("elia_be_imbalance_qh_2022-07_2023-08_combined.csv"),
        ),
        (
            "raw ods047",
            shared("raw/elia_ods047_export_2023-01_2023-05.csv"),
        ),
        (
            "1M per-minute rows",
            Some(million_minute_file().to_path_buf()),
        ),
    ] {
        match file {
            Some(p) => report_peak_memory(name, &p),
            None => println!("skipped {name}: shared data not found"),
        }
    }
    divan::main();
}

#[divan::bench(sample_count = 30)]
fn parse_combined_csv_40k_rows(bencher: divan::Bencher) {
    let Some(p) = shared("elia_be_imbalance_qh_2022-07_2023-08_combined.csv") else {
        return;
    };
    bencher.bench(|| imbarb_market::read_file(&p).expect("parse"));
}

#[divan::bench(sample_count = 30)]
fn parse_raw_ods047_export(bencher: divan::Bencher) {
    let Some(p) = shared("raw/elia_ods047_export_2023-01_2023-05.csv") else {
        return;
    };
    bencher.bench(|| imbarb_market::read_file(&p).expect("parse"));
}

#[divan::bench(sample_count = 5)]
fn parse_1m_minute_rows(bencher: divan::Bencher) {
    let p = million_minute_file();
    bencher.bench(|| imbarb_market::read_file(p).expect("parse"));
}
