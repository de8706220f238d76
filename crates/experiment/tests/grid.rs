//! Experiment files: errors that name the file and field, every shipped experiment resolving,
//! and the grid (agents x caps x seeds) with file-wide and per-agent overrides.

use imbarb_experiment::ExperimentFile;
use imbarb_risk::RiskMeasure;
use std::path::{Path, PathBuf};

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_experiment_files_are_named_with_their_field() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("seeds = []\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n", "seeds"),
        ("seeds = [0]\n", "agents"),
        (
            "seeds = [0]\ncaps = [\"never\"]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n",
            "caps",
        ),
        (
            "seeds = [0]\nbaselines = [\"magic\"]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n",
            "baselines",
        ),
        (
            "seeds = [0]\n[[agents]]\nname = \"a/b\"\nconfig = \"x.toml\"\n",
            "agents.name",
        ),
        (
            "seeds = [0]\n[[agents]]\nname = \"a\"\nconfig = \"x.toml\"\n[[agents]]\nname = \"a\"\nconfig = \"y.toml\"\n",
            "twice",
        ),
        ("seeds = [0]\nsurprise = 1\n", "surprise"),
    ];
    for (text, field) in cases {
        let p = write(d.path(), text);
        let err = ExperimentFile::read(&p).unwrap_err().to_string();
        assert!(
            err.contains("exp.toml") && err.contains(field),
            "{field}: {err}"
        );
    }
    // A misspelt override names the agent and the key.
    std::fs::write(d.path().join("q.toml"), "algo = \"qr-dqn\"\n").unwrap();
    let p = write(
        d.path(),
        "seeds = [0]\n[[agents]]\nname = \"typo\"\nconfig = \"q.toml\"\nset = { training = { gama = 0.9 } }\n",
    );
    let f = ExperimentFile::read(&p).unwrap();
    let err = f.jobs(&p, d.path(), d.path()).unwrap_err().to_string();
    assert!(err.contains("typo") && err.contains("gama"), "{err}");
    // A missing agent config is named with the agent.
    let p = write(
        d.path(),
        "seeds = [0]\n[[agents]]\nname = \"ghost\"\nconfig = \"nowhere.toml\"\n",
    );
    let f = ExperimentFile::read(&p).unwrap();
    let err = f.jobs(&p, d.path(), d.path()).unwrap_err().to_string();
    assert!(
        err.contains("ghost") && err.contains("nowhere.toml"),
        "{err}"
    );
}

/// Every experiment record reads, its agents' configs (its own, frozen) resolve and pass their
/// checks, and none names a config outside its record.
#[test]
fn every_experiment_record_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("experiments")).expect("experiments/") {
        let dir = entry.expect("entry").path();
        let path = dir.join("experiment.toml");
        if !path.exists() {
            script_record_resolves(&dir);
            continue;
        }
        let f = ExperimentFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
        // Resolved against a root with no configs: only the record's own can be found.
        let jobs = f
            .jobs(&path, Path::new("/nonexistent"), Path::new("out"))
            .unwrap_or_else(|e| panic!("{e}"));
        // One run per agent, cap and seed; a walk-forward protocol's per test month.
        let cells: std::collections::BTreeSet<String> = jobs
            .iter()
            .map(|j| {
                j.name()
                    .trim_end_matches(j.month.as_deref().unwrap_or(""))
                    .to_string()
            })
            .collect();
        assert_eq!(
            cells.len(),
            f.agents.len() * f.seeds.len() * f.caps(&path).unwrap().len(),
            "{}",
            path.display()
        );
        for j in jobs.iter().filter(|j| j.month.is_some()) {
            let windows = imbarb_market::SplitSpec::parse(j.protocol.as_deref().unwrap())
                .unwrap()
                .month_windows()
                .unwrap();
            assert!(windows.iter().any(|w| Some(&w.month) == j.month.as_ref()));
        }
        assert!(
            dir.join("notes.md").is_file(),
            "{}: notes.md",
            dir.display()
        );
        seen += 1;
    }
    assert!(seen >= 3, "the smoke, quality and risk records");
}

#[test]
fn the_grid_is_agents_by_caps_by_seeds_with_overrides() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("q.toml"), "algo = \"qr-dqn\"\n").unwrap();
    let p = write(
        d.path(),
        "seeds = [3, 4]\ncaps = [\"none\", 1.1]\ndata = [\"synthetic:2023-01-01..2023-01-31\"]\n\
         set = { training = { gamma = 0.98, n_step = 7 } }\n\
         [[agents]]\nname = \"q\"\nconfig = \"q.toml\"\nsteps = 12345\n\
         [[agents]]\nname = \"q-averse\"\nconfig = \"q.toml\"\n\
         risk = { kind = \"cvar\", alpha = 0.1 }\n\
         set = { env = { granularity = \"minute\" }, training = { gamma = 0.9995 } }\n",
    );
    let f = ExperimentFile::read(&p).unwrap();
    let jobs = f
        .jobs(&p, Path::new("/nonexistent"), Path::new("out"))
        .unwrap();
    assert_eq!(jobs.len(), 2 * 2 * 2);
    let names: Vec<String> = jobs
        .iter()
        .map(|j| j.run.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names[0], "q-capnone-seed3");
    assert_eq!(names[3], "q-cap1.1-seed4");
    assert_eq!(names[7], "q-averse-cap1.1-seed4");
    assert_eq!(jobs[0].config.training.total_steps, 12345);
    assert_eq!(jobs[3].config.env.battery.cycles_per_day, Some(1.1));
    assert_eq!(jobs[3].seed, 4);
    assert_eq!(jobs[4].config.risk, RiskMeasure::Cvar { alpha: 0.1 });
    // `set` reaches nested fields and leaves the rest of the table alone.
    assert_eq!(
        jobs[4].config.env.granularity,
        imbarb_sim::Granularity::Minute
    );
    assert_eq!(jobs[4].config.training.gamma, 0.9995);
    // The file's `set` reaches every agent; an agent's own `set` wins where both name a key.
    assert_eq!(jobs[0].config.training.gamma, 0.98);
    assert!(jobs.iter().all(|j| j.config.training.n_step == 7));
    assert_eq!(jobs[0].config.env.granularity, imbarb_sim::Granularity::Qh);
    assert_eq!(
        jobs[4].config.env.actions,
        imbarb_sim::ActionSpace::Discrete { levels: 3 }
    );
    assert_eq!(
        jobs[4].config.data.sources,
        vec!["synthetic:2023-01-01..2023-01-31".to_string()]
    );
    assert_eq!(
        jobs[4].config_path,
        Path::new("out/configs/q-averse-capnone.toml")
    );
}

/// A directory holding `q.toml`: QR-DQN with 3-step returns, 10 under a cycle cap.
fn dir_with_capped_qrdqn() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("q.toml"),
        "algo = \"qr-dqn\"\n[training]\nn_step = 3\nn_step_with_cap = 10\n",
    )
    .unwrap();
    d
}

#[test]
fn capped_jobs_learn_with_the_capped_return_length() {
    let d = dir_with_capped_qrdqn();
    let p = write(
        d.path(),
        "seeds = [0]\ncaps = [\"none\", 1.1]\n[[agents]]\nname = \"q\"\nconfig = \"q.toml\"\n",
    );
    let f = ExperimentFile::read(&p).unwrap();
    let jobs = f
        .jobs(&p, Path::new("/nonexistent"), Path::new("out"))
        .unwrap();
    let n: Vec<(Option<f64>, usize, Option<usize>)> = jobs
        .iter()
        .map(|j| {
            let t = &j.config.training;
            (
                j.config.env.battery.cycles_per_day,
                t.n_step,
                t.n_step_with_cap,
            )
        })
        .collect();
    assert_eq!(n, vec![(None, 3, None), (Some(1.1), 10, None)]);
}

/// A frozen record resolves to exactly the original grid's jobs, and changing the configs it
/// was frozen from afterwards changes nothing in it.
#[test]
fn a_frozen_record_resolves_to_the_same_jobs_and_stays_frozen() {
    let d = dir_with_capped_qrdqn();
    let p = write(
        d.path(),
        "name = \"study\"\nseeds = [3, 4]\ncaps = [\"none\", 1.1, 2]\ndata = [\"synthetic:2023-01-01..2023-01-31\"]\n\
         baselines = [\"mpc\", \"oracle\"]\n\
         set = { training = { gamma = 0.98 } }\n\
         [[agents]]\nname = \"q\"\nconfig = \"q.toml\"\nsteps = 12345\n\
         [[agents]]\nname = \"q-averse\"\nconfig = \"q.toml\"\n\
         risk = { kind = \"cvar\", alpha = 0.1 }\nset = { training = { gamma = 0.9995 } }\n",
    );
    let original = ExperimentFile::read(&p).unwrap();
    let root = Path::new("/nonexistent");
    let want = original.jobs(&p, root, Path::new("out")).unwrap();
    let record = d.path().join("record");
    let frozen_path = original.freeze(&p, root, &record).unwrap();
    // The configs it came from change; the record does not.
    std::fs::write(d.path().join("q.toml"), "algo = \"dqn\"\n").unwrap();
    let frozen = ExperimentFile::read(&frozen_path).unwrap();
    assert_eq!(frozen.name_for(&frozen_path), "study");
    assert_eq!(frozen.baselines().unwrap(), original.baselines().unwrap());
    let got = frozen.jobs(&frozen_path, root, Path::new("out")).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g.run, &g.config_path, g.seed),
            (&w.run, &w.config_path, w.seed)
        );
        assert_eq!(g.config, w.config, "{}", g.run.display());
        assert_eq!(g.config.to_toml(), w.config.to_toml());
    }
    // The record's agents carry no overrides: everything is in their configs.
    let text = std::fs::read_to_string(&frozen_path).unwrap();
    assert!(!text.contains("set =") && !text.contains("steps =") && !text.contains("risk ="));
    assert!(record.join("configs/q-averse.toml").is_file());
}

/// A record run by a script instead of a grid (`run.sh`) has its notes and results, and every
/// training config in it reads and passes its checks (a script that trains has at least one).
fn script_record_resolves(dir: &Path) {
    for f in ["run.sh", "notes.md", "results.md"] {
        assert!(dir.join(f).is_file(), "{}: no {f}", dir.display());
    }
    let mut configs = 0;
    for entry in std::fs::read_dir(dir).expect("record") {
        let p = entry.expect("entry").path();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        if p.extension().is_some_and(|e| e == "toml") && text.contains("algo = ") {
            let c = imbarb_agents::TrainConfig::from_toml(&text, &p.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            c.check().unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            configs += 1;
        }
    }
    // A command that trains: `imbarb train`, `retrain`, `experiment`, or the SB3 side-by-side.
    let script = std::fs::read_to_string(dir.join("run.sh")).unwrap_or_default();
    let trains = script.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with('#')
            && [" train ", " retrain ", " experiment ", "peer_sb3"]
                .iter()
                .any(|c| l.contains(c))
    });
    assert!(
        configs > 0 || !trains,
        "{}: its script trains but the record has no training config",
        dir.display()
    );
}
