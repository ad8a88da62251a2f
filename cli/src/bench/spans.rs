//! Where the time goes: every gRPC request span (`grpc.request`, named by its method, e.g.
//! `tandem.v1.SalesforceConnector/WriteRecords`) is timed twice: wall time from open to
//! close, and busy time, the CPU time of the thread while it polled the request's future
//! (`CLOCK_THREAD_CPUTIME_ID`): the service's own work, without waits for
//! the network, Postgres or Redis, and without time the thread was preempted. The simulators
//! serve plain HTTP without these spans; their share is the process CPU minus the spans' busy
//! time.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Totals of one RPC method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub count: u64,
    pub busy: Duration,
    pub wall: Duration,
}

/// The collecting layer; clones share the totals.
#[derive(Clone, Default)]
pub struct Spans {
    totals: Arc<Mutex<HashMap<String, Timing>>>,
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

struct Open {
    method: String,
    created: Instant,
    entered: Option<u64>,
    depth: u32,
    busy: Duration,
}

struct MethodName(Option<String>);

impl Visit for MethodName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "otel.name" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "otel.name" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Spans {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Timing>> {
        self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Totals since the last reset.
    pub fn snapshot(&self) -> HashMap<String, Timing> {
        self.lock().clone()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }
}

impl<S> Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "grpc.request" {
            return;
        }
        let mut name = MethodName(None);
        attrs.record(&mut name);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Open {
                method: name.0.unwrap_or_else(|| "unknown".to_owned()),
                created: Instant::now(),
                entered: None,
                depth: 0,
                busy: Duration::ZERO,
            });
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
        {
            if open.depth == 0 {
                open.entered = thread_cpu_ns();
            }
            open.depth += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
        {
            open.depth = open.depth.saturating_sub(1);
            if open.depth == 0
                && let (Some(at), Some(now)) = (open.entered.take(), thread_cpu_ns())
            {
                open.busy += Duration::from_nanos(now.saturating_sub(at));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(open) = span.extensions_mut().remove::<Open>()
        {
            let mut totals = self.lock();
            let t = totals.entry(open.method).or_default();
            t.count += 1;
            t.busy += open.busy;
            t.wall += open.created.elapsed();
        }
    }
}
