//! The process's limits and another process's memory, from the OS.

use std::path::Path;

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> std::io::Result<u64> {
    let (_, hard) = rlimit::Resource::NOFILE.get()?;
    rlimit::Resource::NOFILE.set(hard, hard)?;
    Ok(hard)
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_read_and_nofile_raised() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(raise_nofile().is_ok_and(|n| n > 0));
    }
}
