//! Records the code version (git commit, "+dirty" when the sources the binary is built from
//! differ from it) for run manifests.
use std::path::Path;
use std::process::Command;

/// What the binary is built from, relative to the workspace root: a change to any of them marks
/// the version dirty and reruns this script (docs and experiment records do neither).
const SOURCES: [&str; 4] = ["crates", "configs", "Cargo.toml", "Cargo.lock"];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let version = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            status.extend(SOURCES);
            let dirty = git(&status).is_some_and(|s| !s.is_empty());
            format!("{commit}{}", if dirty { "+dirty" } else { "" })
        }
        None => "unknown".into(),
    };
    println!(
        "cargo:rustc-env=IMBARB_CODE_VERSION={} {version}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        // Editing a source after an earlier build must rerun the script, or the build of the
        // edit would record the clean commit (cargo scans a directory's files recursively).
        for source in SOURCES {
            println!("cargo:rerun-if-changed={}", root.join(source).display());
        }
    }
}
