//! The process's own CPU time and memory, read from `/proc/self` (Linux). The bench runs the
//! services and both simulators in one process, so these figures cover all of them; span
//! timings (spans.rs) split the time between them.

use std::time::Duration;

/// User + system CPU time this process has used so far (`/proc/self/stat`, fields 14 and 15).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some(Duration::from_secs_f64((utime + stime) as f64 / ticks))
}

/// `_SC_CLK_TCK`: 100 on every Linux this runs on (no libc call, `unsafe` is denied).
fn clock_ticks() -> f64 {
    100.0
}

/// A `VmXXX:` line of `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size now.
pub fn rss() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// Peak resident set size since start or the last [`reset_peak`].
pub fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resets the peak RSS to the current RSS (`echo 5 > /proc/self/clear_refs`); false where the
/// kernel refuses, and the peak is then the process's lifetime peak.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
