//! JSON log lines that carry the trace and span ids of the span they were written in, so a
//! collector joins a log line to its trace (`trace_id`, `span_id`: W3C hex).

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The subscriber the log layer is part of: the span's OpenTelemetry context is read through
/// it (a formatter cannot use the thread's default dispatcher while an event is dispatched).
#[derive(Clone, Default)]
pub struct DispatchSlot(Arc<OnceLock<WeakDispatch>>);

impl<S: Subscriber> Layer<S> for DispatchSlot {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// Wraps a JSON event format: each line gains `trace_id` and `span_id` when it is written
/// inside a span that has them.
pub struct WithTraceIds<F> {
    pub inner: F,
    pub dispatch: DispatchSlot,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let span = event
            .parent()
            .cloned()
            .or_else(|| ctx.lookup_current().map(|s| s.id()));
        let ids = span.and_then(|id| self.ids_of(&id));
        let Some((trace_id, span_id)) = ids else {
            return writer.write_str(&line);
        };
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line) {
            Ok(mut object) => {
                object.insert("trace_id".to_owned(), trace_id.into());
                object.insert("span_id".to_owned(), span_id.into());
                let text = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
                writeln!(writer, "{text}")
            }
            Err(_) => writer.write_str(&line),
        }
    }
}

impl<F> WithTraceIds<F> {
    /// The span's trace and span ids, when the OpenTelemetry layer gave it valid ones.
    fn ids_of(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.0.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = context.span();
        let sc = span.span_context();
        sc.is_valid()
            .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    }
}
