//! Robustness: the readers never panic. Feeds 100,000 inputs (mutated excerpts of every real file
//! in ../shared/data, plus random bytes) to `read_bytes`, and summarises whatever parses.

use imbarb_market::summary::DataSummary;
use imbarb_market::{read_bytes, Coverage, DaySplits, SplitSpec};
use imbarb_util::testdata::shared_data_dir;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};

const ITERATIONS: usize = 100_000;

/// Header plus a few dozen data rows of each real file (or built-in excerpts without the data).
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(dir) = shared_data_dir() {
        for sub in [dir.clone(), dir.join("raw")] {
            for entry in std::fs::read_dir(&sub).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "csv") {
                    let bytes = std::fs::read(&path).unwrap();
                    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                    let mut excerpt = lines[..lines.len().min(40)].join(&b'\n');
                    excerpt.push(b'\n');
                    out.push(excerpt);
                }
            }
        }
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("fuzz: shared data folder missing under CI=true");
    } else {
        eprintln!("fuzz: shared data not found; fuzzing built-in excerpts only");
    }
    out.push(
        "\u{feff}DateTime;Quality status;Resolution code;Net regulation volume;System imbalance;Alpha;Marginal incremental price;Marginal decremental price;Strategic reserve price;Positive imbalance price;Negative imbalance price\n\
         2023-05-23T05:15:00+02:00;Not Validated;PT15M;-63.323;71.283;0.0;104.6;6.78;;6.78;6.78\n\
         2023-05-23T05:00:00+02:00;Not Validated;PT15M;91.794;-75.832;0.0;107.93;46.72;;107.93;107.93\n"
            .as_bytes()
            .to_vec(),
    );
    out.push(
        "\u{feff}Datetime;Resolution code;Quarter hour;Quality status;ACE;System imbalance;Alpha;Alpha';Marginal incremental price;Marginal decremental price;Imbalance Price\n\
         2024-09-06T18:56:00+02:00;PT1M;2024-09-06T18:45:00+02:00;NV;-55.073;-107.004;0.0;0.0;369.425;-10.338;369.425\n"
            .as_bytes()
            .to_vec(),
    );
    out
}

const TOKENS: &[&str] = &[
    "",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "1,5",
    "\"",
    "\"\"",
    ";",
    ",",
    "\n",
    "\r\n",
    "\u{feff}",
    "Validated",
    "NV",
    "DataIssue",
    "PT1M",
    "PT15M",
    "BE",
    "NL",
    "2023-03-26T02:30:00+01:00",
    "2022-10-30T02:00:00+02:00",
    "2023-01-01T00:07:00Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00Z",
    "+262143-01-01T00:00:00Z",
    "2023-01-01T00:00:00.5Z",
    "2023-02-30T00:00:00Z",
    "timestamp_utc",
    "minute_utc",
    "datetime",
    "quarterhour",
    "imbalanceprice",
    "positiveimbalanceprice",
    "\u{00e9}\u{20ac}",
    "\u{ff}",
];

fn mutate(seed: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = v.len().max(1);
        match rng.gen_range(0..8) {
            0 => {
                let i = rng.gen_range(0..len);
                if i < v.len() {
                    v[i] = rng.gen();
                }
            }
            1 => {
                let i = rng.gen_range(0..=v.len());
                let n = rng.gen_range(1..8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                v.splice(i..i, bytes);
            }
            2 => {
                let a = rng.gen_range(0..=v.len());
                let b = (a + rng.gen_range(0..64)).min(v.len());
                v.drain(a..b);
            }
            3 => {
                let i = rng.gen_range(0..=v.len());
                let t = TOKENS[rng.gen_range(0..TOKENS.len())].as_bytes();
                v.splice(i..i, t.iter().copied());
            }
            4 => {
                // Replace one cell-like run (between delimiters) with a token.
                let i = rng.gen_range(0..len).min(v.len().saturating_sub(1));
                let start = v[..i]
                    .iter()
                    .rposition(|b| b";,\n".contains(b))
                    .map_or(0, |p| p + 1);
                let end = v[i..]
                    .iter()
                    .position(|b| b";,\n".contains(b))
                    .map_or(v.len(), |p| i + p);
                let t = TOKENS[rng.gen_range(0..TOKENS.len())].as_bytes();
                if start <= end {
                    v.splice(start..end, t.iter().copied());
                }
            }
            5 => {
                // Duplicate or move a line.
                let lines: Vec<Vec<u8>> = v.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                if lines.len() > 2 {
                    let a = rng.gen_range(0..lines.len());
                    let b = rng.gen_range(0..lines.len());
                    let mut l = lines.clone();
                    let line = l[a].clone();
                    if rng.gen() {
                        l.insert(b, line);
                    } else {
                        l.swap(a, b);
                    }
                    v = l.join(&b'\n');
                }
            }
            6 => v.truncate(rng.gen_range(0..=v.len())),
            _ => {
                let i = rng.gen_range(0..=v.len());
                v.splice(i..i, b"\n".iter().copied());
            }
        }
    }
    v
}

#[test]
fn readers_never_panic_on_100k_mutated_and_random_inputs() {
    let seeds = seeds();
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_128);
    let (mut parsed, mut rejected) = (0usize, 0usize);
    for i in 0..ITERATIONS {
        let input: Vec<u8> = if i % 10 == 9 {
            let n = rng.gen_range(0..512);
            (0..n).map(|_| rng.gen()).collect()
        } else {
            mutate(&seeds[i % seeds.len()], &mut rng)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| match read_bytes("fuzz.csv", &input) {
            Ok(d) => {
                let summary = DataSummary::of(&d);
                let _ = summary.render_text();
                let _ = DaySplits::new(&Coverage::of(&d), &SplitSpec::Paper);
                true
            }
            Err(e) => {
                assert!(e.to_string().contains("fuzz.csv") || e.to_string().contains("no input"));
                false
            }
        }));
        match outcome {
            Ok(true) => parsed += 1,
            Ok(false) => rejected += 1,
            Err(_) => panic!(
                "iteration {i} panicked on input (lossy): {:?}",
                String::from_utf8_lossy(&input[..input.len().min(600)])
            ),
        }
    }
    eprintln!("fuzz: {parsed} parsed, {rejected} rejected with an error");
    assert_eq!(parsed + rejected, ITERATIONS);
    assert!(
        parsed > 1_000,
        "mutations should leave many inputs valid ({parsed})"
    );
    assert!(
        rejected > 10_000,
        "mutations should break many inputs ({rejected})"
    );
}
