//! What a run directory refuses (issue #29): a damaged or foreign file is never trusted, another
//! process's run is never written, a diverged network is never saved or called finished.

mod common;

use common::{data, market, small_config};
use imbarb_agents::config::Algo;
use imbarb_agents::trainer::read_manifest;
use imbarb_agents::{train, TrainError, TrainOptions};
use imbarb_util::fs::{DirLock, TEMP_PREFIX};
use std::path::Path;

fn stopped_after(rounds: usize) -> TrainOptions {
    TrainOptions {
        stop_after_rounds: Some(rounds),
        ..TrainOptions::default()
    }
}

fn flip_byte(path: &Path, at: f64) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = (bytes.len() as f64 * at) as usize;
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// A flipped byte in `latest` makes the resume fail, naming the file and the checksum, instead
/// of resuming to a different model; the run stays unfinished. Temporaries an interrupted write
/// left are removed at the next start.
#[test]
fn a_damaged_latest_checkpoint_is_refused_and_orphans_are_cleaned() {
    let config = small_config(Algo::QrDqn, 8 * 96 * 6);
    let m = market(&config);
    let dir = tempfile::tempdir().unwrap();
    train(&data(&m), &config, dir.path(), &stopped_after(3)).unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let orphans = [
        dir.path().join(format!("{TEMP_PREFIX}manifest")),
        checkpoints.join(format!("{TEMP_PREFIX}latest")),
    ];
    for o in &orphans {
        std::fs::write(o, b"half a write").unwrap();
    }
    let latest = checkpoints.join("latest.safetensors");
    let intact = std::fs::read(&latest).unwrap();
    // In the tensor data (the end of the file), where a flip still parses.
    flip_byte(&latest, 0.9);
    let err = train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TrainError::Checkpoint(_)), "{err:?}");
    assert!(
        text.contains("latest.safetensors") && text.contains("checksum"),
        "{text}"
    );
    assert_eq!(read_manifest(dir.path()).unwrap().status, "running");
    for o in &orphans {
        assert!(!o.exists(), "{} left", o.display());
    }
    // Restored, the run resumes and finishes.
    std::fs::write(&latest, intact).unwrap();
    let done = train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap();
    assert!(done.finished);
}

/// A run left `running` after its last checkpoint is completed only when its deployable network
/// verifies: with `best` truncated it stays unfinished and the error names the file.
#[test]
fn a_run_is_not_finished_on_a_damaged_best_checkpoint() {
    let config = small_config(Algo::QrDqn, 8 * 96 * 3);
    let m = market(&config);
    let dir = tempfile::tempdir().unwrap();
    train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap();
    let manifest = dir.path().join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"finished\"", "\"running\"")).unwrap();
    let best = dir.path().join("checkpoints/best.safetensors");
    let bytes = std::fs::read(&best).unwrap();
    std::fs::write(&best, &bytes[..bytes.len() / 2]).unwrap();
    let err = train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap_err();
    assert!(err.to_string().contains("best.safetensors"), "{err}");
    assert_eq!(read_manifest(dir.path()).unwrap().status, "running");
}

/// A directory with files that are not a run's is refused and left as it was; one another
/// process owns is refused naming that process.
#[test]
fn foreign_and_busy_directories_are_refused() {
    let config = small_config(Algo::QrDqn, 8 * 96);
    let m = market(&config);
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "keep me").unwrap();
    let err = train(&data(&m), &config, dir.path(), &TrainOptions::default()).unwrap_err();
    assert!(matches!(err, TrainError::Foreign(..)), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "keep me");

    let run = tempfile::tempdir().unwrap();
    let held = DirLock::acquire(run.path()).unwrap();
    let err = train(&data(&m), &config, run.path(), &TrainOptions::default()).unwrap_err();
    let pid = format!("pid {}", std::process::id());
    assert!(
        matches!(err, TrainError::Lock(_)) && err.to_string().contains(&pid),
        "{err}"
    );
    assert!(!run.path().join("config.toml").exists());
    drop(held);
    train(&data(&m), &config, run.path(), &TrainOptions::default()).unwrap();
}

/// A warm start (walk-forward retraining) takes a finished run's networks and replay: the new
/// run learns from its first round although it has collected fewer transitions than
/// `learning_starts` (a fresh run would not update yet), keeps the source's return support, and
/// records its origin. Unfinished sources and other algorithms are refused by name.
#[test]
fn a_warm_start_continues_from_a_finished_run_and_refuses_others() {
    let config = small_config(Algo::QrDqn, 8 * 96 * 3);
    let m = market(&config);
    let source = tempfile::tempdir().unwrap();
    train(&data(&m), &config, source.path(), &TrainOptions::default()).unwrap();
    let source_manifest = read_manifest(source.path()).unwrap();

    let mut warm = config.clone();
    warm.training.learning_starts = 8 * 96 * 2;
    warm.training.total_steps = 8 * 96 * 2;
    warm.training.warm_start = Some(source.path().display().to_string());
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = warm.clone();
    fresh.training.warm_start = None;
    let cold = train(&data(&m), &fresh, fresh_dir.path(), &stopped_after(1)).unwrap();
    assert_eq!(cold.updates, 0, "a fresh run waits for learning_starts");
    let dir = tempfile::tempdir().unwrap();
    let out = train(&data(&m), &warm, dir.path(), &stopped_after(1)).unwrap();
    assert!(
        out.updates > 0,
        "the warm run learns at once from its replay"
    );
    let done = train(&data(&m), &warm, dir.path(), &TrainOptions::default()).unwrap();
    assert!(done.finished);
    let mm = read_manifest(dir.path()).unwrap();
    assert_eq!(mm.support_eur, source_manifest.support_eur);
    assert_eq!(
        mm.config.training.warm_start.as_deref(),
        Some(source.path().display().to_string().as_str())
    );

    // An unfinished source, and a source of another algorithm, are refused naming the key.
    let unfinished = tempfile::tempdir().unwrap();
    train(&data(&m), &config, unfinished.path(), &stopped_after(1)).unwrap();
    warm.training.warm_start = Some(unfinished.path().display().to_string());
    let e = train(
        &data(&m),
        &warm,
        tempfile::tempdir().unwrap().path(),
        &stopped_after(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("training.warm_start") && e.contains("not finished"),
        "{e}"
    );
    let mut other = warm.clone();
    other.algo = Algo::Dqn;
    other.training.warm_start = Some(source.path().display().to_string());
    let e = train(
        &data(&m),
        &other,
        tempfile::tempdir().unwrap().path(),
        &stopped_after(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("training.warm_start") && e.contains("qr-dqn"),
        "{e}"
    );
}
