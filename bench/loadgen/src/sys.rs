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
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) process `pid` has used, in seconds: fields 14
/// and 15 of `/proc/PID/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // The command name (field 2) may hold spaces; count fields after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_read_and_nofile_raised() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(raise_nofile().is_ok_and(|n| n > 0));
        assert!(cpu_seconds(std::process::id()).is_some_and(|s| s >= 0.0));
    }
}
