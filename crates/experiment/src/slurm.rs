//! Running an experiment grid on a Slurm cluster: one array task per unfinished cell, each
//! training exactly its run (`imbarb experiment FILE --cell N`) on the shared filesystem. The
//! batch script forwards the scheduler's warning signal to the cell, which checkpoints its round
//! and stops, then requeues the task, which resumes from that checkpoint. Slurm does the
//! scheduling; this module writes the script, submits it with `sbatch` and reads the cells'
//! states back from the run directories and `squeue`.

use crate::grid::Job;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the batch script asks of Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (HH:MM:SS, or what Slurm accepts).
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--mem`.
    pub mem: Option<String>,
    /// At most this many cells at once (`--array=...%K`).
    pub max_parallel: Option<u32>,
    /// Further `#SBATCH` lines, as given (e.g. `--account=abc`).
    pub extra: Vec<String>,
    /// Seconds before the time limit at which the cell is told to checkpoint and requeue.
    pub warn_seconds: u32,
    /// The agents selected (`--agents`): the cells are numbered within that selection.
    pub agents: Option<Vec<String>>,
}

/// Where a cell stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellState {
    /// Trained to the end.
    Done,
    /// Waiting in Slurm's queue.
    Pending,
    /// Training.
    Running,
    /// Not in the queue and not finished: failed, cancelled or never submitted.
    Unfinished,
}

/// One submission, as `<out>/slurm/jobs.jsonl` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm's job id.
    pub job_id: String,
    /// The cells submitted (indices into the grid).
    pub cells: Vec<usize>,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Whether the run of `job` has trained to the end.
pub fn finished(job: &Job) -> bool {
    imbarb_agents::trainer::read_manifest(&job.run)
        .is_ok_and(|m| m.status == imbarb_agents::trainer::RunStatus::Finished)
}

/// The unfinished `cells` of `jobs` as submissions in order: one array for a grid of
/// independent runs; for a walk-forward grid whose months warm-start from the month before, one
/// array per test month (each to start after the one before), as (label, cells).
pub fn arrays(jobs: &[Job], cells: &[usize]) -> Vec<(String, Vec<usize>)> {
    let mut months: Vec<(String, Vec<usize>)> = vec![];
    for &c in cells {
        let label = jobs[c].month.clone().unwrap_or_default();
        match months.iter_mut().find(|(m, _)| *m == label) {
            Some((_, v)) => v.push(c),
            None => months.push((label, vec![c])),
        }
    }
    months.sort_by(|a, b| a.0.cmp(&b.0));
    months
}

/// `a,b,c` with runs of consecutive cells as `a-b`: Slurm's array syntax.
pub fn array_spec(cells: &[usize]) -> String {
    let mut parts: Vec<String> = vec![];
    let mut i = 0;
    while i < cells.len() {
        let mut j = i;
        while j + 1 < cells.len() && cells[j + 1] == cells[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", cells[i], cells[j])
        } else {
            cells[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The batch script for `cells` of the experiment `file` in `out` (absolute paths), run by
/// `exe`.
/// With `after` (a job id), the array starts once that job's every task has finished well: a
/// walk-forward month after the month its runs warm-start from.
pub fn batch_script(
    exe: &Path,
    file: &Path,
    out: &Path,
    name: &str,
    cells: &[usize],
    o: &SlurmOptions,
    after: Option<&str>,
) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let mut line = |l: String| s.push_str(&format!("#SBATCH {l}\n"));
    line(format!("--job-name=imbarb-{name}"));
    if let Some(job) = after {
        line(format!("--dependency=afterok:{job}"));
        line("--kill-on-invalid-dep=yes".into());
    }
    let limit = o.max_parallel.map_or(String::new(), |k| format!("%{k}"));
    line(format!("--array={}{limit}", array_spec(cells)));
    line(format!(
        "--output={}",
        out.join("slurm").join("cell-%a.log").display()
    ));
    line("--open-mode=append".into());
    line("--requeue".into());
    line(format!("--signal=B:USR1@{}", o.warn_seconds));
    if let Some(p) = &o.partition {
        line(format!("--partition={p}"));
    }
    if let Some(t) = &o.time {
        line(format!("--time={t}"));
    }
    if let Some(c) = o.cpus_per_task {
        line(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &o.mem {
        line(format!("--mem={m}"));
    }
    for e in &o.extra {
        line(e.clone());
    }
    s.push_str(&format!(
        "\n# One cell of the grid: `imbarb experiment --cell` trains (or resumes) exactly its run.\n\
         # Before the time limit (or on `scancel --batch --signal=USR1`) the cell checkpoints its\n\
         # round and stops; the task then requeues itself and resumes from that checkpoint.\n\
         {exe} experiment {file} --cell \"$SLURM_ARRAY_TASK_ID\" --out {out}{agents} &\n\
         cell=$!\n\
         requeue() {{\n  kill -USR1 \"$cell\"\n  wait \"$cell\"\n  scontrol requeue \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\"\n  exit 0\n}}\n\
         trap requeue USR1\n\
         trap 'kill -TERM \"$cell\"; wait \"$cell\"; exit 143' TERM\n\
         wait \"$cell\"\n",
        exe = quote(exe),
        file = quote(file),
        out = quote(out),
        agents = o.agents.as_ref().map_or(String::new(), |a| format!(
            " --agents {}",
            quote(Path::new(&a.join(",")))
        )),
    ));
    s
}

/// Runs a Slurm command, naming it when it is missing or refuses.
fn slurm(cmd: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "`{cmd}` not found on PATH: the Slurm backend runs where Slurm's commands do (a login node of the cluster)"
            )
        } else {
            anyhow::anyhow!("running {cmd}: {e}")
        }
    })?;
    if !out.status.success() {
        bail!(
            "{cmd} refused: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes the batch script for `cells` into `<out>/slurm/<script_name>` and submits it; returns
/// the job id, recorded in `<out>/slurm/jobs.jsonl`.
pub fn submit(script: &str, out: &Path, script_name: &str, cells: &[usize]) -> Result<String> {
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(script_name);
    imbarb_util::fs::write_atomic(&path, script.as_bytes())?;
    let path_text = path.display().to_string();
    let stdout = slurm("sbatch", &["--parsable", &path_text])?;
    // `--parsable` prints `id` or `id;cluster`.
    let job_id = stdout
        .trim()
        .split(';')
        .next()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("sbatch printed no job id: {stdout:?}"))?
        .to_string();
    let record = Submission {
        job_id: job_id.clone(),
        cells: cells.to_vec(),
        at: chrono::Utc::now(),
    };
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("jobs.jsonl"))?;
    writeln!(f, "{}", serde_json::to_string(&record)?)?;
    Ok(job_id)
}

/// Every submission recorded for the experiment in `out`.
pub fn submissions(out: &Path) -> Result<Vec<Submission>> {
    let path = out.join("slurm").join("jobs.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(vec![]);
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{} line {}", path.display(), i + 1))
        })
        .collect()
}

/// The queue's view of `job_ids`: (cell, pending or running) for each array task it still holds.
pub fn queued(job_ids: &[String]) -> Result<Vec<(usize, CellState)>> {
    if job_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids = job_ids.join(",");
    let text = slurm("squeue", &["-h", "-r", "-j", &ids, "-o", "%i %T"])?;
    Ok(parse_squeue(&text))
}

/// `squeue -h -r -o "%i %T"` lines (`123_4 RUNNING`) as cells and states.
pub fn parse_squeue(text: &str) -> Vec<(usize, CellState)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let id = it.next()?;
            let state = it.next()?;
            let cell = id.split_once('_')?.1.parse().ok()?;
            let state = match state {
                "RUNNING" | "COMPLETING" | "CONFIGURING" | "STAGE_OUT" => CellState::Running,
                _ => CellState::Pending,
            };
            Some((cell, state))
        })
        .collect()
}

/// Every cell's state: done from its run, else what the queue says, else unfinished.
pub fn cell_states(jobs: &[Job], queue: &[(usize, CellState)]) -> Vec<CellState> {
    jobs.iter()
        .enumerate()
        .map(|(i, j)| {
            if finished(j) {
                CellState::Done
            } else {
                queue
                    .iter()
                    .find(|(c, _)| *c == i)
                    .map_or(CellState::Unfinished, |(_, s)| *s)
            }
        })
        .collect()
}

/// A warning when `out` looks like a folder the cluster's nodes do not share.
pub fn shared_filesystem_warning(out: &Path) -> Option<String> {
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    abs.starts_with("/tmp").then(|| {
        format!(
            "warning: {} is under /tmp, which is usually local to each node: the cells write their runs there, so use a folder every node shares",
            abs.display()
        )
    })
}

/// The grid's cells as `<out>/slurm/cells.tsv`: index, run name, run directory.
pub fn cells_tsv(jobs: &[Job]) -> String {
    let mut s = String::from("cell\trun\tdir\n");
    for (i, j) in jobs.iter().enumerate() {
        s.push_str(&format!("{i}\t{}\t{}\n", j.name(), j.run.display()));
    }
    s
}

/// The absolute form of `p` (the cells run elsewhere, from another working directory).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("{}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_written_as_slurm_reads_them() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[0, 2, 3, 4, 7]), "0,2-4,7");
        assert_eq!(array_spec(&[5]), "5");
        assert_eq!(array_spec(&[]), "");
    }

    #[test]
    fn the_queue_is_read_per_array_task() {
        let text = "12_0 RUNNING\n12_3 PENDING\n12_[4-5] PENDING\n13_1 COMPLETING\n";
        assert_eq!(
            parse_squeue(text),
            vec![
                (0, CellState::Running),
                (3, CellState::Pending),
                (1, CellState::Running)
            ]
        );
    }

    #[test]
    fn the_script_asks_for_what_was_given_and_quotes_paths() {
        let o = SlurmOptions {
            partition: Some("cpu".into()),
            time: Some("01:00:00".into()),
            cpus_per_task: Some(2),
            mem: Some("4G".into()),
            max_parallel: Some(3),
            extra: vec!["--account=abc".into()],
            warn_seconds: 120,
            agents: Some(vec!["qr".into(), "iqn".into()]),
        };
        let s = batch_script(
            Path::new("/opt/imbarb"),
            Path::new("/home/x/it's.toml"),
            Path::new("/shared/out"),
            "grid",
            &[0, 1, 3],
            &o,
            Some("41"),
        );
        for l in [
            "#SBATCH --array=0-1,3%3",
            "#SBATCH --dependency=afterok:41",
            "#SBATCH --output=/shared/out/slurm/cell-%a.log",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --partition=cpu",
            "#SBATCH --time=01:00:00",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --mem=4G",
            "#SBATCH --account=abc",
            "'/opt/imbarb' experiment '/home/x/it'\\''s.toml' --cell \"$SLURM_ARRAY_TASK_ID\" --out '/shared/out' --agents 'qr,iqn' &",
            "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"",
        ] {
            assert!(s.contains(l), "{l}\n{s}");
        }
    }
}
