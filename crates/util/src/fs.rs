//! Files a run can trust: atomic writes (a temporary file in the target folder, synced, then
//! renamed into place, so an interrupted run never leaves a half-written file behind), the
//! clean-up of temporaries an interrupted write left, and an exclusive lock on a directory so two
//! processes never write the same run.

use std::fs::OpenOptions;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The name every temporary file of `write_atomic` starts with, so a later start can tell them
/// from the user's files and remove them.
pub const TEMP_PREFIX: &str = ".imbarb-tmp-";

/// The lock file inside a locked directory (it holds the owner's process id).
pub const LOCK_FILE: &str = ".lock";

/// A file that could not be written, with the reason. The reason is part of the message, not a
/// chained source, so an error chain prints the operating system's text once.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {reason}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What the operating system said.
    pub reason: std::io::Error,
}

impl WriteError {
    fn new(path: &Path, reason: std::io::Error) -> WriteError {
        WriteError {
            path: path.to_path_buf(),
            reason,
        }
    }
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a mix.
/// Done by hand rather than with `tempfile`, whose errors name the temporary file (a name the
/// user never gave) in the operating system's message.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let err = |reason| WriteError::new(path, reason);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            // A dead process with this pid left it: take the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e)),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// Removes the temporary files an interrupted `write_atomic` left in `dir` (not below it) and
/// returns how many. Call it only while holding the directory's lock: a temporary file of a
/// running writer would go too.
pub fn remove_orphan_temps(dir: &Path) -> Result<usize, WriteError> {
    let err = |reason| WriteError::new(dir, reason);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(err(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(err)?;
        let is_temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
        if is_temp && entry.file_type().map_err(err)?.is_file() {
            std::fs::remove_file(entry.path()).map_err(|e| WriteError::new(&entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Why a directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "{} is in use by another imbarb process{}; wait for it to end or stop it",
        dir.display(),
        holder.map_or(String::new(), |p| format!(" (pid {p})"))
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file says.
        holder: Option<u32>,
    },
    /// The lock file could not be created or written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Exclusive ownership of a directory for as long as the value lives: an advisory lock on
/// `<dir>/.lock`, released by the operating system when the process ends however it ends, so a
/// killed owner never leaves a stale lock.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Locks `dir` (created if missing), or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let err = |reason| WriteError::new(&path, reason);
        std::fs::create_dir_all(dir).map_err(|e| WriteError::new(dir, e))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(e).into()),
        }
        file.set_len(0).map_err(err)?;
        file.rewind().map_err(err)?;
        write!(file, "{}", std::process::id()).map_err(err)?;
        file.flush().map_err(err)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_names_the_path_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        let missing = d.path().join("no/such/dir/b.txt");
        let e = write_atomic(&missing, b"x").unwrap_err();
        // Said once, without the temporary file's name, and not chained a second time.
        let text = format!("{:#}", anyhow_like(&e));
        assert_eq!(
            text,
            format!(
                "cannot write {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
    }

    /// The message and its chain of sources, as `anyhow`'s `{:#}` prints them.
    fn anyhow_like(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut next = e.source();
        while let Some(s) = next {
            text += &format!(": {s}");
            next = s.source();
        }
        text
    }

    /// Temporaries of an interrupted write go; the user's files, even dot files, stay.
    #[test]
    fn orphan_temporaries_are_removed_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let keep = ["a.txt", ".hidden", "imbarb-tmp-not-ours"];
        for k in keep {
            std::fs::write(d.path().join(k), "x").unwrap();
        }
        // What a write killed before its rename leaves.
        let orphan = d.path().join(format!("{TEMP_PREFIX}4242-0"));
        std::fs::write(&orphan, "half").unwrap();
        assert!(orphan.exists());
        assert_eq!(remove_orphan_temps(d.path()).unwrap(), 1);
        assert!(!orphan.exists());
        for k in keep {
            assert!(d.path().join(k).exists(), "{k}");
        }
        assert_eq!(remove_orphan_temps(&d.path().join("missing")).unwrap(), 0);
    }

    /// A second lock on the same directory fails and names the holder's pid; once the first
    /// lock is dropped the directory can be locked again.
    #[test]
    fn a_locked_directory_refuses_a_second_owner() {
        let d = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(d.path()).unwrap();
        let e = DirLock::acquire(d.path()).unwrap_err();
        let pid = std::process::id();
        assert!(
            matches!(e, LockError::Busy { holder: Some(p), .. } if p == pid),
            "{e:?}"
        );
        assert!(e.to_string().contains(&format!("pid {pid}")), "{e}");
        drop(first);
        let again = DirLock::acquire(d.path()).unwrap();
        drop(again);
        // A missing directory is created and locked.
        DirLock::acquire(&d.path().join("new/run")).unwrap();
    }
}
