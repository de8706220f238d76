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

/// Every shipped experiment reads, and its agents' configs resolve and pass their checks.
#[test]
fn every_shipped_experiment_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("configs/experiments");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("configs/experiments") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let f = ExperimentFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
            // Agent configs are named from the repository root.
            let jobs = f
                .jobs(&path, &root, Path::new("out"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                jobs.len(),
                f.agents.len() * f.seeds.len() * f.caps(&path).unwrap().len(),
                "{}",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 3, "the smoke, quality and risk experiments");
}

#[test]
fn the_grid_is_agents_by_caps_by_seeds_with_overrides() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("q.toml"), "algo = \"qr-dqn\"\n").unwrap();
    let p = write(
        d.path(),
        "seeds = [3, 4]\ncaps = [\"none\", 1.1]\ndata = [\"synthetic:2023-01-01..2023-01-31\"]\n\
         set = { training = { gamma = 0.98, n_step = 7 } }\n\
         [[agents]]\nname = \"q\"\nconfig = \"q.toml\"\nsteps = 1234\n\
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
    assert_eq!(jobs[0].config.training.total_steps, 1234);
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

#[test]
fn capped_jobs_learn_with_the_capped_return_length() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("q.toml"),
        "algo = \"qr-dqn\"\n[training]\nn_step = 3\nn_step_with_cap = 10\n",
    )
    .unwrap();
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
