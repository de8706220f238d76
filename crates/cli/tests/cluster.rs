//! The Slurm backend's command line (issue #28) without a cluster: a fake `sbatch` and `squeue`
//! on PATH record what would be submitted and answer as Slurm does; `--cell` trains one cell;
//! what cannot work is refused by name. `scripts/slurm_test.sh` runs the real thing.

mod common;

use common::{stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

fn grid(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = dir.join("grid.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"grid\"\nseeds = [0, 1]\ndata = [\"synthetic:2023-01-01..2023-02-28:seed=2\"]\n\
             baselines = [\"rule\"]\nset = {{ training = {{ learning_starts = 300 }} }}\n\
             [[agents]]\nname = \"qr\"\nconfig = \"{}\"\nsteps = 1500\n",
            root.join("configs/qrdqn.toml").display()
        ),
    )
    .unwrap();
    file
}

/// `imbarb` with PATH set to `path` only.
fn imbarb_with_path(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imbarb"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("run imbarb")
}

fn fake(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_grid_is_submitted_as_one_array_of_its_unfinished_cells() {
    let dir = tempfile::tempdir().unwrap();
    let file = grid(dir.path());
    let f = file.to_str().unwrap();
    let out = dir.path().join("exp");
    let o = out.to_str().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();

    // No Slurm on PATH: said so.
    let e = imbarb_with_path(&["experiment", f, "--out", o, "--backend", "slurm"], &bin);
    assert!(!e.status.success());
    assert!(
        stderr(&e).contains("`sbatch` not found on PATH"),
        "{}",
        stderr(&e)
    );
    // The output folder is under /tmp here: warned.
    assert!(stderr(&e).contains("is under /tmp"), "{}", stderr(&e));

    // Cell 1 trained by hand first (what an array task runs): the submission leaves it out.
    let c = imbarb_with_path(&["experiment", f, "--out", o, "--cell", "1"], &bin);
    assert!(c.status.success(), "{}", stderr(&c));
    let e = imbarb_with_path(&["experiment", f, "--out", o, "--cell", "2"], &bin);
    assert!(stderr(&e).contains("--cell 2: the grid of") && stderr(&e).contains("has 2 cells"));

    let args_log = dir.path().join("sbatch-args");
    fake(
        &bin,
        "sbatch",
        &format!("echo \"$@\" > '{}'\necho 42", args_log.display()),
    );
    fake(&bin, "squeue", "echo '42_0 RUNNING'");
    let s = imbarb_with_path(
        &[
            "experiment",
            f,
            "--out",
            o,
            "--backend",
            "slurm",
            "--no-wait",
            "--partition",
            "cpu",
            "--time",
            "00:10:00",
            "--max-parallel",
            "4",
            "--sbatch-arg=--account=abc",
        ],
        &bin,
    );
    assert!(s.status.success(), "{}", stderr(&s));
    assert!(
        stderr(&s).contains("submitted 1 of 2 cells as Slurm job 42"),
        "{}",
        stderr(&s)
    );
    let script = std::fs::read_to_string(out.join("slurm/array.sbatch")).unwrap();
    for l in [
        "#SBATCH --array=0%4",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=00:10:00",
        "#SBATCH --account=abc",
        "--cell \"$SLURM_ARRAY_TASK_ID\"",
    ] {
        assert!(script.contains(l), "{l}\n{script}");
    }
    assert!(std::fs::read_to_string(&args_log)
        .unwrap()
        .contains("--parsable"));
    let jobs = std::fs::read_to_string(out.join("slurm/jobs.jsonl")).unwrap();
    assert!(
        jobs.contains("\"job_id\":\"42\"") && jobs.contains("\"cells\":[0]"),
        "{jobs}"
    );
    let cells = std::fs::read_to_string(out.join("slurm/cells.tsv")).unwrap();
    assert!(cells.contains("0\tqr-capnone-seed0\t") && cells.contains("1\tqr-capnone-seed1\t"));

    // The queue says cell 0 runs: --status shows it, and a new submission sends nothing.
    let st = imbarb_with_path(&["experiment", f, "--out", o, "--status"], &bin);
    assert!(st.status.success(), "{}", stderr(&st));
    let text = stdout(&st);
    assert!(
        text.contains("1 done, 1 running, 0 pending, 0 unfinished"),
        "{text}"
    );
    assert!(text.contains("running     qr-capnone-seed0"), "{text}");
    let submit = || {
        imbarb_with_path(
            &[
                "experiment",
                f,
                "--out",
                o,
                "--backend",
                "slurm",
                "--no-wait",
            ],
            &bin,
        )
    };
    let again = submit();
    assert!(
        stderr(&again).contains("nothing to submit"),
        "{}",
        stderr(&again)
    );

    // sbatch refusing: its message is shown.
    fake(
        &bin,
        "sbatch",
        "echo 'sbatch: error: invalid partition specified: gpu' >&2; exit 1",
    );
    fake(&bin, "squeue", "true");
    let r = submit();
    assert!(!r.status.success());
    assert!(
        stderr(&r).contains("sbatch refused: sbatch: error: invalid partition"),
        "{}",
        stderr(&r)
    );
}

/// A walk-forward grid whose months warm-start from the month before goes as one array per
/// month, each after the one before.
#[test]
fn walk_forward_months_go_as_arrays_each_after_the_month_before() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = dir.path().join("wf.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"wf\"\nseeds = [0, 1]\ndata = [\"synthetic:2023-01-01..2023-04-30:seed=2\"]\n\
             set = {{ data = {{ split = \"walk-forward-monthly:2023-03..2023-04:7\" }}, training = {{ learning_starts = 300, warm_start_steps = 500 }} }}\n\
             [[agents]]\nname = \"qr\"\nconfig = \"{}\"\nsteps = 1000\n",
            root.join("configs/qrdqn.toml").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("exp");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = dir.path().join("calls");
    // Each submission answers the next job id: 42, then 43.
    fake(
        &bin,
        "sbatch",
        &format!(
            "n=$(/usr/bin/wc -l < '{c}' 2>/dev/null || echo 0)\necho x >> '{c}'\necho $((42 + n))",
            c = calls.display()
        ),
    );
    fake(&bin, "squeue", "true");
    let e = imbarb_with_path(
        &[
            "experiment",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "slurm",
            "--no-wait",
        ],
        &bin,
    );
    assert!(e.status.success(), "{}", stderr(&e));
    let err = stderr(&e);
    assert!(
        err.contains("submitted 2 of 4 cells (test month 2023-03) as Slurm job 42")
            && err.contains("submitted 2 of 4 cells (test month 2023-04) as Slurm job 43"),
        "{err}"
    );
    let march = std::fs::read_to_string(out.join("slurm/array-2023-03.sbatch")).unwrap();
    let april = std::fs::read_to_string(out.join("slurm/array-2023-04.sbatch")).unwrap();
    assert!(!march.contains("--dependency"), "{march}");
    assert!(april.contains("#SBATCH --dependency=afterok:42"), "{april}");
    // Each array holds its month's cells (the grid's own numbering).
    let cells = std::fs::read_to_string(out.join("slurm/cells.tsv")).unwrap();
    let index_of = |run: &str| -> String {
        cells
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(run))
            .map(|l| l.split('\t').next().unwrap().to_string())
            .unwrap()
    };
    let april_cells = format!(
        "{},{}",
        index_of("qr-capnone-seed0-2023-04"),
        index_of("qr-capnone-seed1-2023-04")
    );
    assert!(
        april.contains(&format!("--array={april_cells}"))
            || april.contains(&format!(
                "--array={}-{}",
                index_of("qr-capnone-seed0-2023-04"),
                index_of("qr-capnone-seed1-2023-04")
            )),
        "{april}\n{cells}"
    );
    // A month run cannot train before the month it warm-starts from.
    let c = imbarb_with_path(
        &[
            "experiment",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--cell",
            &index_of("qr-capnone-seed0-2023-04"),
        ],
        &bin,
    );
    assert!(!c.status.success());
    assert!(stderr(&c).contains("has not finished"), "{}", stderr(&c));
}
