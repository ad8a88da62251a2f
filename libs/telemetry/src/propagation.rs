//! W3C trace context (`traceparent`, `tracestate`) across gRPC: injected into outgoing
//! request metadata, extracted from incoming request headers into the server span.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(key) = tonic::metadata::MetadataKey::from_bytes(key.as_bytes()) else {
            return;
        };
        if let Ok(value) = value.parse() {
            self.0.insert(key, value);
        }
    }
}

/// The remote parent context carried by incoming request headers, if any.
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes the current span's context into outgoing gRPC metadata.
pub fn inject_context(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut MetadataInjector(metadata))
    });
}

/// The span of one incoming gRPC request, child of the caller's span when the request
/// carries a trace context. Use it as tonic's `Server::trace_fn`.
pub fn server_span(service: &'static str, request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path().trim_start_matches('/');
    // OpenTelemetry's RPC conventions: `/package.Service/Method`.
    let (rpc_service, rpc_method) = path.split_once('/').unwrap_or((path, ""));
    let span = tracing::info_span!(
        "grpc.request",
        otel.name = %path,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %rpc_service,
        rpc.method = %rpc_method,
        rpc.grpc.status_code = tracing::field::Empty,
        tandem.service = service,
    );
    let _ = span.set_parent(extract_context(request.headers()));
    span
}

/// Records the gRPC status code of a response on the request's span (OpenTelemetry's
/// `rpc.grpc.status_code`): an error's code travels in the response headers, an OK in the
/// trailers, so a response without one in its headers is OK.
pub fn record_status<B>(response: http::Response<B>) -> http::Response<B> {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    tracing::Span::current().record("rpc.grpc.status_code", code);
    response
}
