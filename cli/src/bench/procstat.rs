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

/// User + system CPU time of process `pid` (`/proc/PID/stat` fields 14 and 15, in the
/// kernel's 100 Hz clock ticks).
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Which process a figure is about.
#[derive(Clone, Copy)]
pub enum Of {
    Me,
    Pid(u32),
}

impl Of {
    fn dir(self) -> String {
        match self {
            Of::Me => "/proc/self".to_owned(),
            Of::Pid(pid) => format!("/proc/{pid}"),
        }
    }
}

/// A `VmXXX:` line of `/proc/self/status`, in bytes.
fn status_bytes(key: &str) -> Option<u64> {
    status_bytes_of(Of::Me, key)
}

/// A `VmXXX:` line of a process's status, in bytes.
fn status_bytes_of(of: Of, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{}/status", of.dir())).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size now.
pub fn rss() -> Option<u64> {
    status_bytes("VmRSS:")
}

pub fn rss_of(of: Of) -> Option<u64> {
    status_bytes_of(of, "VmRSS:")
}

pub fn peak_rss_of(of: Of) -> Option<u64> {
    status_bytes_of(of, "VmHWM:")
}

pub fn reset_peak_of(of: Of) -> bool {
    std::fs::write(format!("{}/clear_refs", of.dir()), "5").is_ok()
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
