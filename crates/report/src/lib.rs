//! imbarb-report: the experiment report, one self-contained HTML page with inline SVG charts,
//! built from an experiment directory's `evaluation.json` and its runs' manifests and metrics.

pub mod charts;
pub mod format;
pub mod html;
pub mod model;

pub use model::{
    frontier, throughput_by_agent, DayTrace, Evaluation, GroupResult, PeriodPolicy, PeriodResult,
    PolicyResult, PolicySummary, PriceSummary, RunInfo, Throughput,
};

use imbarb_agents::trainer::{read_manifest, read_metrics, MetricsLine};
use std::path::Path;

/// The runs in `runs_dir` (each a directory with `manifest.json`), sorted by name, with their
/// metrics from `metrics.jsonl`. The agent is the directory name before `-cap`. A manifest or
/// metrics line the trainer could not have written is an error naming the file (and line).
pub fn load_runs(runs_dir: &Path) -> Result<Vec<RunInfo>, String> {
    let mut runs = vec![];
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Ok(runs);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.join("manifest.json").is_file() {
            continue;
        }
        let manifest = read_manifest(&dir).map_err(|e| e.to_string())?;
        let metrics = read_metrics(&dir).map_err(|e| e.to_string())?;
        let mut clock = SessionClock::default();
        for line in &metrics {
            clock.add(line);
        }
        let name = dir
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().to_string());
        let agent = name.split("-cap").next().unwrap_or(&name).to_string();
        runs.push(RunInfo {
            name,
            agent,
            manifest,
            metrics,
            throughput: clock.throughput(),
        });
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(runs)
}

/// The runs under `dir/runs` that `evaluation` backtested: a directory left by an agent or seed
/// since removed from the experiment's file stays out of the report and the speeds.
pub fn load_runs_of(dir: &Path, evaluation: &Evaluation) -> Result<Vec<RunInfo>, String> {
    let evaluated: std::collections::BTreeSet<&std::ffi::OsStr> = evaluation
        .groups
        .iter()
        .flat_map(|g| &g.policies)
        .filter_map(|p| p.run.as_deref().and_then(|r| Path::new(r).file_name()))
        .collect();
    let mut runs = load_runs(&dir.join("runs"))?;
    runs.retain(|r| evaluated.contains(std::ffi::OsStr::new(&r.name)));
    Ok(runs)
}

/// A run's training time summed over its sessions. Each metrics line carries the wall seconds and
/// the speed since its session started, hence the step its session started from: a later start
/// marks a resume, and the previous session's last wall time is banked.
#[derive(Default)]
struct SessionClock {
    banked_s: f64,
    session_s: f64,
    session_start_step: f64,
    last: Option<(f64, f64)>,
}

impl SessionClock {
    fn add(&mut self, line: &MetricsLine) {
        let (wall_s, steps_per_s) = (line.wall_s, line.env_steps_per_s);
        let (steps, updates) = (line.step as f64, line.updates as f64);
        let start = steps - steps_per_s * wall_s;
        if self.last.is_some() && start > self.session_start_step + 1.0 {
            self.banked_s += self.session_s;
        }
        self.session_start_step = start;
        self.session_s = wall_s;
        self.last = Some((steps, updates));
    }

    /// Whole-run speed: steps and updates at the last line over the summed wall time.
    fn throughput(&self) -> Option<Throughput> {
        let (steps, updates) = self.last?;
        let wall_s = self.banked_s + self.session_s;
        (wall_s > 0.0).then(|| Throughput {
            wall_s,
            env_steps_per_s: steps / wall_s,
            updates_per_s: updates / wall_s,
        })
    }
}

/// Builds `report.html` in the experiment directory `dir` from `evaluation.json` and `runs/`;
/// returns its path.
pub fn write_report(dir: &Path) -> Result<std::path::PathBuf, String> {
    let path = dir.join("evaluation.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (run `imbarb experiment` for this directory first)",
            path.display()
        )
    })?;
    let evaluation: Evaluation =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let runs = load_runs_of(dir, &evaluation)?;
    write_report_of(dir, &evaluation, &runs)
}

/// Writes `report.html` in `dir` for an evaluation and its runs already in memory (what
/// `imbarb experiment` has just computed); returns its path.
pub fn write_report_of(
    dir: &Path,
    evaluation: &Evaluation,
    runs: &[RunInfo],
) -> Result<std::path::PathBuf, String> {
    let page = html::render(evaluation, runs);
    let out = dir.join("report.html");
    imbarb_util::fs::write_atomic(&out, page.as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imbarb_eval::Metrics;

    fn metrics(eur: f64) -> Metrics {
        Metrics {
            policy: "p".into(),
            days: 3,
            total_eur: 3.0 * eur,
            eur_per_day: eur,
            eur_per_mw_year: 365.0 * eur,
            pct_of_perfect: Some(eur / 10.0),
            cycles_per_day: 1.0,
            daily_std_eur: 1.0,
            var_5_eur: eur - 2.0,
            cvar_5_eur: eur - 2.0,
            var_10_eur: eur - 1.0,
            cvar_10_eur: eur - 1.5,
            max_drawdown_eur: 0.0,
            losing_day_share: 0.0,
            eur_per_cycle: Some(eur),
        }
    }

    fn policy(name: &str, kind: &str, seed: Option<u64>, eur: f64) -> PolicyResult {
        PolicyResult {
            name: name.into(),
            kind: kind.into(),
            seed,
            run: None,
            metrics: metrics(eur),
            daily_eur: vec![eur - 1.0, eur, eur + 1.0],
        }
    }

    /// A run's speed is its steps and updates over its wall time summed across sessions (a
    /// resumed run restarts its clock); an agent's is the mean over its runs; a run without
    /// metrics has none and counts for nothing.
    /// A manifest as the trainer writes it, for an agent of `algo`.
    fn manifest(algo: &str) -> imbarb_agents::trainer::Manifest {
        let config = imbarb_agents::TrainConfig::from_toml(&format!("algo = \"{algo}\""), "test")
            .expect("config");
        imbarb_agents::trainer::Manifest {
            algo: algo.into(),
            seed: 0,
            config,
            data_hash: "h".into(),
            code_version: "test".into(),
            feature_names: vec![],
            feature_mean: vec![],
            feature_std: vec![],
            obs_width: 3,
            support_eur: (-1.0, 1.0),
            train_days: 1,
            validation_days: 1,
            status: imbarb_agents::trainer::RunStatus::Finished,
            best: None,
            price_profile: None,
            market: None,
            training_prices: None,
            trained_until: None,
            forecaster_sha256: None,
        }
    }

    /// A metrics line with the given step, updates, validation EUR/day, wall seconds and speed.
    fn line(step: usize, updates: u64, val: f64, wall_s: f64, sps: f64) -> String {
        serde_json::to_string(&MetricsLine {
            step,
            rounds: 1,
            updates,
            epsilon: 0.1,
            train_return_eur_per_day: 1.0,
            loss: 0.5,
            val_eur_per_day: val,
            val_selection: val,
            val_cycles_per_day: 1.0,
            val_daily_eur: vec![val],
            best: true,
            wall_s,
            env_steps_per_s: sps,
            updates_per_s: 1.0,
            diagnostics: Default::default(),
        })
        .expect("line")
    }

    /// A run's speed is its steps and updates over its wall time summed across sessions (a
    /// resumed run restarts its clock); an agent's is the mean over its runs; a run without
    /// metrics has none and counts for nothing.
    #[test]
    fn runs_load_their_curves_and_training_speed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, lines: &[String]| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).expect("dir");
            let m = serde_json::to_string(&manifest("qr-dqn")).expect("manifest");
            std::fs::write(d.join("manifest.json"), m).expect("manifest");
            std::fs::write(d.join("metrics.jsonl"), lines.join("\n")).expect("metrics");
        };
        write(
            "qr-capnone-seed0",
            &[
                line(3000, 300, 5.0, 30.0, 100.0),
                line(6000, 600, 7.0, 60.0, 100.0),
            ],
        );
        // Stopped after 20 s at step 2000, resumed there and ran 80 s more to step 6000 (its
        // first line's 40 s exceed the first session's 20 s: only the start step shows the
        // resume).
        write(
            "qr-capnone-seed1",
            &[
                line(2000, 100, 9.0, 20.0, 100.0),
                line(4000, 200, 9.5, 40.0, 50.0),
                line(6000, 300, 9.9, 80.0, 50.0),
            ],
        );
        write("qr-capnone-seed2", &[]);
        let runs = load_runs(dir.path()).expect("runs");
        assert_eq!(runs.len(), 3);
        assert_eq!(
            runs[0].validation_curve(),
            vec![(3000.0, 5.0), (6000.0, 7.0)]
        );
        let speed = |r: &RunInfo| {
            r.throughput
                .map(|t| (t.wall_s, t.env_steps_per_s, t.updates_per_s))
        };
        assert_eq!(speed(&runs[0]), Some((60.0, 100.0, 10.0)));
        assert_eq!(speed(&runs[1]), Some((100.0, 60.0, 3.0)));
        assert_eq!(runs[2].throughput, None);
        let speeds = throughput_by_agent(&runs);
        assert_eq!(speeds.len(), 1);
        let (agent, n, t) = speeds[0];
        assert_eq!((agent, n), ("qr", 2));
        assert_eq!(
            (t.wall_s, t.env_steps_per_s, t.updates_per_s),
            (80.0, 80.0, 6.5)
        );
        // A line that is not JSON names the file and line.
        write(
            "bad-capnone-seed0",
            &[line(1, 1, 1.0, 1.0, 1.0), "not json".into()],
        );
        let e = load_runs(dir.path()).expect_err("bad metrics");
        assert!(e.contains("metrics.jsonl line 2"), "{e}");
    }

    /// Seeds of one policy aggregate even when other policies sit between them; the best
    /// baseline is never the oracle.
    #[test]
    fn summaries_group_seeds_and_skip_the_oracle_as_baseline() {
        let g = GroupResult {
            label: "g".into(),
            comparable: String::new(),
            continuous: false,
            setup: "s".into(),
            dates: vec![],
            prices: PriceSummary::of(&[]),
            oracle_eur_per_day: 1000.0,
            policies: vec![
                policy("dsac", "agent", Some(0), 500.0),
                policy("oracle", "baseline", None, 1000.0),
                policy("mpc", "baseline", None, 300.0),
                policy("rule", "baseline", None, 200.0),
                policy("dsac", "agent", Some(1), 520.0),
                policy("dsac", "agent", Some(2), 540.0),
            ],
            traces: vec![],
            periods: vec![],
        };
        let rows = g.summaries();
        let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
        assert_eq!(names, ["dsac", "oracle", "mpc", "rule"]);
        let dsac = &rows[0];
        assert_eq!((dsac.kind, dsac.seeds), ("agent", 3));
        let eur = dsac.eur_per_day.expect("finite");
        assert!((eur.mean - 520.0).abs() < 1e-9);
        // Student-t, 2 degrees of freedom: 4.303 x 20 / sqrt(3).
        let half = eur.half_width.expect("three seeds");
        assert!(
            (half - 4.302_653 * 20.0 / 3f64.sqrt()).abs() < 1e-3,
            "{half}"
        );
        assert!((dsac.cvar_10_eur - 518.5).abs() < 1e-9);
        assert!((dsac.pct_of_perfect - 52.0).abs() < 1e-9);
        assert_eq!(rows[2].seeds, 1);
        assert_eq!(g.best_baseline(), Some(("mpc", 300.0)));
    }

    /// A page with one group: the results table aggregates seeds with an interval, every chart
    /// is inline SVG, names are escaped and nothing is fetched.
    #[test]
    fn the_page_holds_its_tables_and_charts() {
        let e = Evaluation {
            name: "demo <1>".into(),
            code_version: "0.1.0".into(),
            groups: vec![GroupResult {
                label: "cap none / quarter-hour decisions / 3-level".into(),
                comparable: String::new(),
                continuous: false,
                setup: "75 test days".into(),
                dates: ["2023-06-01", "2023-06-02", "2023-06-03"]
                    .iter()
                    .map(|d| d.parse().unwrap())
                    .collect(),
                prices: PriceSummary::of(&[-10.0, 50.0, 110.0]),
                oracle_eur_per_day: 1000.0,
                periods: vec![],
                policies: vec![
                    policy("oracle", "baseline", None, 1000.0),
                    policy("rule", "baseline", None, 100.0),
                    policy("dsac", "agent", Some(0), 500.0),
                    policy("dsac", "agent", Some(1), 520.0),
                ],
                traces: vec![DayTrace {
                    date: "2023-06-02".parse().unwrap(),
                    why: "median".into(),
                    policy: "dsac".into(),
                    price: vec![10.0, 90.0],
                    power_mw: vec![-1.0, 1.0],
                    soc_mwh: vec![1.9, 0.8],
                }],
            }],
            notes: vec!["a note".into()],
        };
        let runs = vec![RunInfo {
            name: "dsac-capnone-seed0".into(),
            agent: "dsac".into(),
            manifest: manifest("dsac"),
            metrics: [(1, 100.0), (2, 200.0)]
                .map(|(step, val)| {
                    serde_json::from_str(&line(step, 1, val, 1.0, 1.0)).expect("line")
                })
                .to_vec(),
            throughput: Some(Throughput {
                wall_s: 90.0,
                env_steps_per_s: 1234.4,
                updates_per_s: 77.0,
            }),
        }];
        let page = html::render(&e, &runs);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("demo &lt;1&gt;") && !page.contains("demo <1>"));
        // Cumulative, daily, frontier, one day, and the agent's four training panels
        // (validation, training return, loss, temperature).
        assert_eq!(page.matches("<svg").count(), 8, "charts");
        assert!(page.contains("dsac: loss") && page.contains("dsac: exploration"));
        assert!(!page.contains("chart not drawn"));
        // dsac over two seeds: 510 with a t-interval; the rule on its own.
        assert!(
            page.contains("<td>dsac</td><td>2</td><td>510.0 ± "),
            "{page}"
        );
        assert!(page.contains("<td>rule</td><td>1</td><td>100.0</td>"));
        assert!(
            page.contains("33.3 %"),
            "a third of the quarter-hours are negative"
        );
        assert!(page.contains("dsac-capnone-seed0"));
        // The methods table shows the run's training speed.
        assert!(
            page.contains("<td>1.5</td><td>1234</td><td>77</td>"),
            "speed"
        );
        // Self-contained: no scripts, nothing linked or fetched.
        assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href="));
    }

    #[test]
    fn price_summary_by_hand() {
        let p = PriceSummary::of(&[-10.0, 50.0, 110.0]);
        assert_eq!((p.mean, p.min, p.max), (50.0, -10.0, 110.0));
        assert!((p.std - 2400f64.sqrt()).abs() < 1e-9);
        assert!((p.negative_share - 1.0 / 3.0).abs() < 1e-12);
    }
}
