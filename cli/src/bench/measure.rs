//! Runs a stretch of a scenario and measures it: calls each simulator answered, wall time,
//! process CPU and the RPC span timings.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::bench::harness::{Calls, Infra, Stack};
use crate::bench::procstat;
use crate::bench::spans::{Spans, Timing};

/// What every scenario gets.
pub struct Ctx {
    pub infra: Infra,
    pub spans: Spans,
}

pub struct Measure {
    pub calls: Calls,
    pub wall: Duration,
    /// CPU of the whole process: services, simulators, the bench itself.
    pub cpu: Duration,
    pub spans: HashMap<String, Timing>,
    /// The calls grouped by kind (Salesforce, monday): see [`Stack::call_summary`].
    pub detail: (String, String),
}

impl Measure {
    /// Busy time of the orchestrator's own RPCs (SyncNow, Import): its work excluding waits
    /// on the connectors, Postgres and Redis.
    pub fn orchestrator_busy(&self) -> Duration {
        self.busy_of("tandem.v1.SyncOrchestrator/")
    }

    pub fn busy_of(&self, prefix: &str) -> Duration {
        self.spans
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, t)| t.busy)
            .sum()
    }

    /// Per-record microseconds of `d`.
    pub fn micros_per(d: Duration, records: usize) -> f64 {
        d.as_secs_f64() * 1e6 / records.max(1) as f64
    }
}

pub async fn measure<T>(
    ctx: &Ctx,
    stack: &Stack,
    work: impl AsyncFnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Measure)> {
    stack.clear_calls();
    ctx.spans.reset();
    let cpu_before = procstat::cpu_time().unwrap_or_default();
    let started = Instant::now();
    let out = work().await?;
    let wall = started.elapsed();
    let cpu = procstat::cpu_time()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    Ok((
        out,
        Measure {
            calls: stack.calls(),
            wall,
            cpu,
            spans: ctx.spans.snapshot(),
            detail: stack.call_summary(),
        },
    ))
}

/// ⌈a / b⌉.
pub fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b.max(1))
}
