//! The process's own CPU time and memory, from the process CPU clock and `/proc/self/status` (Linux). The bench runs the
//! services and both simulators in one process, so these figures cover all of them; span
//! timings (spans.rs) split the time between them.

use std::time::Duration;

/// CPU time this process has used so far, every thread (`CLOCK_PROCESS_CPUTIME_ID`).
pub fn cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
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
