//! What the machine offers.

/// The machine's physical memory in bytes (Linux: `MemTotal` of `/proc/meminfo`), or `None` where
/// it cannot be read. Read by hand: one line of one file, where a system-information crate would
/// bring a whole process and disk inventory along.
pub fn total_memory_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_linux_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            let bytes = super::total_memory_bytes().expect("MemTotal");
            // Between 256 MiB and 64 TiB: a real machine.
            assert!(bytes > 2f64.powi(28) && bytes < 2f64.powi(46), "{bytes}");
        }
    }
}
