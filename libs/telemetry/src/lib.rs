//! Tracing and OpenTelemetry setup for every Tandem binary, and the W3C trace context
//! carried across gRPC calls so that one sync run is one trace.
//!
//! `init` is called once per process (a service's `main`, `tandem up`, a test binary). When
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans and metrics are exported over OTLP/gRPC; the
//! returned [`Guard`] flushes them on drop.

pub mod http;
mod json_log;
mod metrics;
mod propagation;
pub mod redact;

pub use json_log::{DispatchSlot, WithTraceIds};
pub use propagation::{extract_context, inject_context, record_status, server_span};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// What `init` sets up. [`Config::from_env`] reads the conventional variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `service.name` of exported spans.
    pub service_name: String,
    /// An `EnvFilter` directive, e.g. `info,sqlx=warn`.
    pub filter: String,
    pub format: LogFormat,
    /// Where to export spans over OTLP/gRPC; `None` disables export.
    pub otlp_endpoint: Option<String>,
}

impl Config {
    /// Reads `RUST_LOG` (default `info`), `TANDEM_LOG_FORMAT` (`human` or `json`) and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn from_env(service_name: &str) -> Result<Self, Error> {
        let format = match std::env::var("TANDEM_LOG_FORMAT").as_deref() {
            Err(_) | Ok("") | Ok("human") => LogFormat::Human,
            Ok("json") => LogFormat::Json,
            Ok(other) => {
                return Err(Error::Config(format!(
                    "TANDEM_LOG_FORMAT must be `human` or `json`, not `{other}`"
                )));
            }
        };
        Ok(Self {
            service_name: service_name.to_owned(),
            filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            format,
            otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("telemetry configuration: {0}")]
    Config(String),
    #[error("cannot build the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the exporter alive; dropping it flushes pending spans.
#[must_use = "dropping the guard shuts the exporter down"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
    meters: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Guard {
    /// Exports every finished span and the metrics now. Blocking: call it from a blocking
    /// context.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
        if let Some(meters) = &self.meters {
            let _ = meters.force_flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
        if let Some(meters) = self.meters.take() {
            let _ = meters.shutdown();
        }
    }
}

/// Installs the global subscriber (and, with an endpoint, the OTLP exporter and the W3C
/// propagator). Must be called from within a Tokio runtime when an endpoint is set.
pub fn init(config: &Config) -> Result<Guard, Error> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.filter)
        .map_err(|e| Error::Config(format!("RUST_LOG `{}`: {e}", config.filter)))?;
    let fmt = match config.format {
        // Colours only on a terminal: a log file or a collector gets plain text.
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => json_layer(std::io::stderr).boxed(),
    };
    // Spans always get trace and span ids (for log lines and propagation); they are
    // exported only when an endpoint is set.
    let (otel, provider) = match &config.otlp_endpoint {
        None => {
            let provider = SdkTracerProvider::builder().build();
            let tracer = provider.tracer("tandem");
            (tracing_opentelemetry::layer().with_tracer(tracer), provider)
        }
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|source| Error::Exporter {
                    endpoint: crate::redact::url(endpoint),
                    source,
                })?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(config.service_name.clone())
                        .build(),
                )
                .build();
            let tracer = provider.tracer("tandem");
            opentelemetry::global::set_tracer_provider(provider.clone());
            (tracing_opentelemetry::layer().with_tracer(tracer), provider)
        }
    };
    let meters = match &config.otlp_endpoint {
        Some(endpoint) => Some(metrics::install(endpoint, &config.service_name)?),
        None => None,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| Error::AlreadyInstalled)?;
    Ok(Guard {
        provider: Some(provider),
        meters,
    })
}

/// JSON log lines (one object per line) to `writer`, each with the `trace_id` and `span_id`
/// of the span it was written in. Needs the OpenTelemetry layer in the same subscriber for
/// the ids.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let dispatch = DispatchSlot::default();
    let format = WithTraceIds {
        inner: tracing_subscriber::fmt::format().json(),
        dispatch: dispatch.clone(),
    };
    dispatch.and_then(
        tracing_subscriber::fmt::layer()
            .json()
            .event_format(format)
            .with_writer(writer),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_log_lines_carry_the_trace_and_span_ids_of_their_span() {
        let lines = Lines::default();
        let writer = lines.clone();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(super::json_layer(move || writer.clone()));
        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!("cycle");
            let _entered = span.enter();
            tracing::info!(integration = "i-1", "cycle finished");
            let sc = span.context().span().span_context().clone();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert!(parsed[0].get("trace_id").is_none(), "{text}");
        assert_eq!(parsed[1]["trace_id"], trace_id.as_str(), "{text}");
        assert_eq!(parsed[1]["span_id"], span_id.as_str(), "{text}");
        assert_eq!(trace_id.len(), 32);
        assert_eq!(parsed[1]["fields"]["message"], "cycle finished");
    }
}
